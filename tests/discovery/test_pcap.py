"""The pcap/pcapng reader on real loopback traffic, the shared corpus and damaged files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from medshield.discovery.pcap import CaptureError, read_capture

CORPUS_PCAP = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "pcap"
CORPUS_FILES = sorted(
    p for p in CORPUS_PCAP.glob("*/*") if p.suffix in {".pcap", ".pcapng", ".cap"}
)

DICOM_PORT = 11999  # not 104 or 11112: detection must be by content
HL7_PORT = 12575  # not 2575 either
SCP_ADDR, SCU_ADDR = "127.0.0.2", "127.0.0.1"
HL7_SERVER, HL7_CLIENT = "127.0.0.4", "127.0.0.3"

ADT = (
    "MSH|^~\\&|ADT_SYSTEM|TOKYO_GENERAL|LAB_SYSTEM|CENTRAL_LAB|20240501120000||ADT^A01|MSG0001|P|2.5\r"
    "EVN|A01|20240501120000\r"
    "PID|1||123456^^^TOKYO_GENERAL||YAMADA^TARO||19700101|M\r"
    "PV1|1|I|W3^301^1\r"
)
ORU = (
    "MSH|^~\\&|LIS_ANALYZER^1.2.3^ISO|LAB_WING^X|EMR_CORE|HOSPITAL_MAIN|20240501121500||"
    "ORU^R01^ORU_R01|MSG0002|P|2.5.1\r"
    "PID|1||123456\r"
    "OBR|1||LAB1|GLU\r"
    "OBX|1|NM|GLU||5.4|mmol/L\r"
)

needs_tcpdump = pytest.mark.skipif(
    shutil.which("tcpdump") is None or os.geteuid() != 0,
    reason="recording loopback traffic needs tcpdump and root",
)


# ------------------------------------------------------------------------------------------
# Recording real traffic


def _wait_port(addr: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((addr, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {addr}:{port}")


def _mllp_server(ready: threading.Event, stop: threading.Event) -> None:
    """A tiny MLLP listener: reads framed messages and answers each with an ACK."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HL7_SERVER, HL7_PORT))
    srv.listen()
    srv.settimeout(0.2)
    ready.set()
    while not stop.is_set():
        try:
            conn, _ = srv.accept()
        except TimeoutError:
            continue
        with conn:
            data = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
                while b"\x1c\r" in data:
                    msg, _, data = data.partition(b"\x1c\r")
                    control = msg.split(b"|")[9].decode()
                    ack = (
                        "MSH|^~\\&|LAB_SYSTEM|CENTRAL_LAB|ADT_SYSTEM|TOKYO_GENERAL|20240501120001"
                        f"||ACK^A01|ACK{control}|P|2.5\rMSA|AA|{control}\r"
                    )
                    conn.sendall(b"\x0b" + ack.encode() + b"\x1c\r")
    srv.close()


def _send_hl7() -> None:
    with socket.socket() as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.bind((HL7_CLIENT, 0))
        c.connect((HL7_SERVER, HL7_PORT))
        # The ADT's MSH is split across two TCP segments: the reader must reassemble it
        framed = b"\x0b" + ADT.encode() + b"\x1c\r"
        c.sendall(framed[:30])
        time.sleep(0.05)
        c.sendall(framed[30:])
        c.recv(65536)
        c.sendall(b"\x0b" + ORU.encode() + b"\x1c\r")
        time.sleep(0.05)
        c.recv(65536)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Record pynetdicom echoscu/storescu against storescp, and HL7 over MLLP, with tcpdump."""
    import pydicom.data

    out = tmp_path_factory.mktemp("pcap") / "loopback.pcap"
    dump = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-U", "--immediate-mode", "-n", "-w", str(out),
         f"tcp port {DICOM_PORT} or tcp port {HL7_PORT}"],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    # tcpdump says "listening on lo" once the capture is open
    assert dump.stderr is not None
    line = dump.stderr.readline().decode()
    assert "listening" in line, line
    py = [sys.executable, "-m", "pynetdicom"]
    scp = subprocess.Popen(
        [*py, "storescp", str(DICOM_PORT), "-aet", "PACS_MAIN", "-ba", SCP_ADDR, "--ignore"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stop, ready = threading.Event(), threading.Event()
    hl7 = threading.Thread(target=_mllp_server, args=(ready, stop), daemon=True)
    hl7.start()
    try:
        _wait_port(SCP_ADDR, DICOM_PORT)
        ct = pydicom.data.get_testdata_file("CT_small.dcm")
        scu = ["-aet", "CT_SCANNER_01", "-aec", "PACS_MAIN"]
        subprocess.run([*py, "echoscu", SCP_ADDR, str(DICOM_PORT), *scu], check=True, timeout=30)
        subprocess.run(
            [*py, "storescu", SCP_ADDR, str(DICOM_PORT), ct, "-aet", "MR_MODALITY_02",
             "-aec", "PACS_MAIN"],
            check=True,
            timeout=30,
        )  # fmt: skip
        assert ready.wait(5)
        _send_hl7()
        time.sleep(0.2)
    finally:
        stop.set()
        scp.terminate()
        scp.wait(10)
        dump.send_signal(signal.SIGINT)  # tcpdump flushes and closes the file on SIGINT
        dump.wait(10)
        hl7.join(5)
    assert out.stat().st_size > 24
    return out


def _host(capture, ip: str):
    return next(h for h in capture.hosts if h.ip == ip)


@needs_tcpdump
def test_dicom_on_a_non_standard_port_is_found_by_content(recorded: Path) -> None:
    capture = read_capture(recorded)
    assert capture.warnings == []
    dicom = [f for f in capture.flows if f.protocol == "dicom"]
    assert [(f.src, f.dst, f.dst_port, f.transport) for f in dicom] == [
        (SCU_ADDR, SCP_ADDR, DICOM_PORT, "tcp")
    ]
    # two associations (echo and store), every packet of both directions counted
    assert dicom[0].packets >= 16 and dicom[0].bytes > 5000
    assert dicom[0].first_seen < dicom[0].last_seen and dicom[0].last_seen.endswith("Z")
    assert _host(capture, SCP_ADDR).dicom_ae_titles == ["PACS_MAIN"]
    assert _host(capture, SCU_ADDR).dicom_ae_titles == ["CT_SCANNER_01", "MR_MODALITY_02"]
    assert "dicom" in _host(capture, SCP_ADDR).protocols


@needs_tcpdump
def test_hl7_applications_and_facilities_including_a_split_msh(recorded: Path) -> None:
    capture = read_capture(recorded)
    hl7 = [f for f in capture.flows if f.protocol == "hl7"]
    assert [(f.src, f.dst, f.dst_port) for f in hl7] == [(HL7_CLIENT, HL7_SERVER, HL7_PORT)]
    client, server = _host(capture, HL7_CLIENT), _host(capture, HL7_SERVER)
    # MSH-3/4 of what a host sends and MSH-5/6 of what it receives (HD: namespace id kept)
    assert client.hl7_applications == ["ADT_SYSTEM", "LIS_ANALYZER"]
    assert client.hl7_facilities == ["LAB_WING", "TOKYO_GENERAL"]
    assert server.hl7_applications == ["EMR_CORE", "LAB_SYSTEM"]
    assert server.hl7_facilities == ["CENTRAL_LAB", "HOSPITAL_MAIN"]
    assert client.hl7_message_types == ["ADT^A01", "ORU^R01"]
    assert server.hl7_message_types == ["ACK^A01"]


@needs_tcpdump
def test_every_recorded_flow_and_the_json_shape(recorded: Path) -> None:
    data = read_capture(recorded).as_json()
    assert [(f["src"], f["dst"], f["dst_port"], f["protocol"]) for f in data["flows"]] == [
        (SCU_ADDR, SCP_ADDR, DICOM_PORT, "dicom"),
        (HL7_CLIENT, HL7_SERVER, HL7_PORT, "hl7"),
    ]
    assert set(data) == {"hosts", "flows"}
    for host in data["hosts"]:
        assert {"ip", "mac", "hostnames", "protocols", "dicom_ae_titles", "hl7_applications",
                "hl7_facilities"} <= set(host)  # fmt: skip
    for flow in data["flows"]:
        assert list(flow) == ["src", "dst", "dst_port", "transport", "protocol", "packets",
                              "bytes", "first_seen", "last_seen"]  # fmt: skip
    assert [h["ip"] for h in data["hosts"]] == [SCU_ADDR, SCP_ADDR, HL7_CLIENT, HL7_SERVER]


# ------------------------------------------------------------------------------------------
# Other encodings of the same capture: pcapng (with an unknown block), big-endian nanosecond


def _records(path: Path):
    raw = path.read_bytes()
    link = struct.unpack_from("<I", raw, 20)[0]
    off = 24
    while off + 16 <= len(raw):
        sec, usec, incl, orig = struct.unpack_from("<IIII", raw, off)
        yield link, sec, usec, orig, raw[off + 16 : off + 16 + incl]
        off += 16 + incl


def _block(btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def _to_pcapng(src: Path, dst: Path, *, unknown_block: bool) -> None:
    recs = list(_records(src))
    out = [_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    # interface 0 has nanosecond timestamps (if_tsresol = 9)
    opts = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)
    out.append(_block(1, struct.pack("<HHI", recs[0][0], 0, 262144) + opts))
    for i, (_, sec, usec, orig, data) in enumerate(recs):
        ts = (sec * 1_000_000 + usec) * 1000
        epb = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(data), orig) + data
        out.append(_block(6, epb))
        if unknown_block and i == 3:
            out.append(_block(0x0BADF00D, b"who knows"))
    if unknown_block:
        out.append(_block(0x0000DEAD, b"\x01\x02\x03"))
    dst.write_bytes(b"".join(out))


@needs_tcpdump
def test_pcapng_with_unknown_blocks_warns_and_gives_the_same_result(
    recorded: Path, tmp_path: Path
) -> None:
    ng = tmp_path / "loopback.pcapng"
    _to_pcapng(recorded, ng, unknown_block=True)
    capture = read_capture(ng)
    assert any("unknown pcapng block type 0x0badf00d" in w for w in capture.warnings)
    assert any("0x0000dead" in w for w in capture.warnings)
    assert capture.as_json() == read_capture(recorded).as_json()


@needs_tcpdump
def test_big_endian_nanosecond_pcap(recorded: Path, tmp_path: Path) -> None:
    recs = list(_records(recorded))
    be = tmp_path / "be.pcap"
    parts = [struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, recs[0][0])]
    for _, sec, usec, orig, data in recs:
        parts.append(struct.pack(">IIII", sec, usec * 1000, len(data), orig) + data)
    be.write_bytes(b"".join(parts))
    assert read_capture(be).as_json() == read_capture(recorded).as_json()


@needs_tcpdump
def test_truncated_capture_gives_a_partial_result_with_a_warning(
    recorded: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.pcap"
    raw = recorded.read_bytes()
    cut.write_bytes(raw[: len(raw) - 7])
    capture = read_capture(cut)
    assert len(capture.warnings) == 1 and "truncated" in capture.warnings[0]
    assert {f.protocol for f in capture.flows} == {"dicom", "hl7"}


# ------------------------------------------------------------------------------------------
# Corpus and damaged files (no tcpdump needed)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_captures_read_without_warnings(path: Path) -> None:
    capture = read_capture(path)
    assert capture.warnings == []
    assert capture.packets > 0 and capture.flows


def test_corpus_hl7_capture_facts() -> None:
    path = CORPUS_PCAP / "ndpi" / "hl7.pcap"
    if not path.exists():
        pytest.skip("corpus missing")
    capture = read_capture(path)
    [flow] = capture.flows
    assert (flow.src, flow.dst, flow.dst_port, flow.protocol) == (
        "10.0.0.155", "10.0.0.126", 6661, "hl7"
    )  # fmt: skip
    sender = _host(capture, "10.0.0.155")
    assert sender.hl7_applications == ["SENDING_APPLICATION"]
    assert sender.hl7_facilities == ["SENDING_FACILITY"]
    assert sender.mac == "00:0c:29:b5:b6:48"


def test_corpus_dhcp_and_mdns_facts() -> None:
    dhcp = CORPUS_PCAP / "zeek-traces" / "dhcp_discover_param_req_and_client_id.pcap"
    mdns = CORPUS_PCAP / "zeek-traces" / "mdns.pcap"
    if not (dhcp.exists() and mdns.exists()):
        pytest.skip("corpus missing")
    [host] = read_capture(dhcp).hosts  # a DISCOVER: the client has no address yet
    assert (host.ip, host.mac, host.hostnames) == (None, "00:0b:82:01:fc:42", ["test0000"])
    host = _host(read_capture(mdns), "10.0.2.7")
    assert host.hostnames == ["johanna-qemu-virtual-machine.local"]


def test_random_bytes_are_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(os.urandom(4096).replace(b"\x0a\x0d\x0d\x0a", b"xxxx"))
    junk.write_bytes(b"\x13\x37" + junk.read_bytes()[2:])
    with pytest.raises(CaptureError, match="not a pcap or pcapng file"):
        read_capture(junk)
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    with pytest.raises(CaptureError, match="0 bytes long"):
        read_capture(empty)


def test_garbage_after_a_valid_header_stops_with_a_warning(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    bad.write_bytes(header + b"\xff" * 64)
    capture = read_capture(bad)
    assert capture.flows == [] and "corrupt record" in capture.warnings[0]


# ------------------------------------------------------------------------------------------
# The command


def test_command_prints_json_and_table(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS_PCAP / "ndpi" / "hl7.pcap"
    if not path.exists():
        pytest.skip("corpus missing")
    call_command("discover_pcap", str(path), "--format", "json")
    data = json.loads(capsys.readouterr().out)
    assert data["flows"][0]["protocol"] == "hl7"
    call_command("discover_pcap", str(path), "--format", "table")
    assert "SENDING_APPLICATION" in capsys.readouterr().out


def test_command_on_random_bytes_exits_1_without_a_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(CommandError, match="not a pcap or pcapng file"):
        call_command("discover_pcap", str(junk))
    env = {**os.environ, "MEDSHIELD_DATA_DIR": os.environ.get("MEDSHIELD_DATA_DIR", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "medshield.cli", "discover", "pcap", str(junk)],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if v},
        timeout=60,
    )
    assert proc.returncode == 1
    assert "not a pcap or pcapng file" in proc.stderr and "Traceback" not in proc.stderr
