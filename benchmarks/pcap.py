"""Benchmark: ``medshield discover pcap`` against tshark on a synthetic hospital capture.

    .venv/bin/python benchmarks/pcap.py                  # 2,000,000+ packets
    .venv/bin/python benchmarks/pcap.py --packets 200000 # a quick run

The capture is written record by record with struct (no packet library): DICOM associations
(A-ASSOCIATE-RQ/AC with AE titles, P-DATA-TF, release) on 104, 11112 and 4242, HL7 v2 over MLLP on
2575 and 6661, HTTPS with a ClientHello carrying SNI, DNS queries and answers, DHCP
DISCOVER/REQUEST/ACK with hostname and vendor class; half the frames are 802.1Q-tagged. Checksums
are left zero (tshark does not verify them by default).

tshark extracts the same facts: flow 5-tuples and frame lengths, DICOM AE titles, HL7 message and
event types, TLS SNI, HTTP Host, DNS names and DHCP hostname/vendor class. Wireshark binds DICOM
only to port 104 and HL7 to no port by default, so the command adds ``-d tcp.port==N,dicom`` and
``-d tcp.port==N,hl7`` for the ports the generator uses; medshield needs no such hint (it detects
DICOM and MLLP by content). Each tool runs in a fresh process, wall time end to end, start-up
included; peak RSS comes from wait4(). Both outputs are checked to agree on the AE titles, the
number of DICOM associations and HL7 messages, and the SNI names before the times are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DICOM_PORTS = (104, 11112, 4242)
HL7_PORTS = (2575, 6661)

_eth = struct.Struct(">6s6sH").pack
_vlan = struct.Struct(">6s6sHHH").pack
_ip = struct.Struct(">BBHHHBBH4s4s").pack
_tcp = struct.Struct(">HHIIBBHHH").pack
_udp = struct.Struct(">HHHH").pack
_rec = struct.Struct("<IIII").pack


class Writer:
    def __init__(self, fh) -> None:
        self.fh = fh
        self.buf: list[bytes] = []
        self.n = 0
        self.t = 1_714_521_600.0  # 2024-05-01T00:00:00Z
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def frame(self, l2: bytes, ip_payload: bytes, src: bytes, dst: bytes, proto: int) -> None:
        ip = _ip(0x45, 0, 20 + len(ip_payload), 0, 0x4000, 64, proto, 0, src, dst)
        data = l2 + ip + ip_payload
        if len(data) < 60:
            data += b"\x00" * (60 - len(data))  # Ethernet padding, not payload
        self.t += 0.00005
        sec = int(self.t)
        self.buf.append(_rec(sec, int((self.t - sec) * 1e6), len(data), len(data)))
        self.buf.append(data)
        self.n += 1
        if len(self.buf) > 20000:
            self.flush()

    def flush(self) -> None:
        self.fh.write(b"".join(self.buf))
        self.buf.clear()


def _l2(smac: bytes, dmac: bytes, vlan: int) -> bytes:
    return _vlan(dmac, smac, 0x8100, vlan, 0x0800) if vlan else _eth(dmac, smac, 0x0800)


class Tcp:
    """One TCP connection written segment by segment with correct sequence numbers."""

    def __init__(self, w: Writer, c, s, sport: int, dport: int, vlan: int) -> None:
        self.w, self.c, self.s, self.sport, self.dport = w, c, s, sport, dport
        self.up = (_l2(c[1], s[1], vlan), _l2(s[1], c[1], vlan))
        self.seq = [random.getrandbits(32), random.getrandbits(32)]
        self.send(0, b"", 0x02)
        self.seq[0] += 1
        self.send(1, b"", 0x12)
        self.seq[1] += 1
        self.send(0, b"", 0x10)

    def send(self, d: int, payload: bytes, flags: int = 0x18) -> None:
        a, b = (self.c, self.s) if d == 0 else (self.s, self.c)
        sp, dp = (self.sport, self.dport) if d == 0 else (self.dport, self.sport)
        seg = _tcp(sp, dp, self.seq[d] & 0xFFFFFFFF, self.seq[1 - d] & 0xFFFFFFFF,
                   0x50, flags, 65535, 0, 0) + payload  # fmt: skip
        self.w.frame(self.up[d], seg, a[0], b[0], 6)
        self.seq[d] += len(payload)

    def close(self) -> None:
        self.send(0, b"", 0x11)
        self.seq[0] += 1
        self.send(1, b"", 0x11)
        self.seq[1] += 1
        self.send(0, b"", 0x10)


def udp(w: Writer, a, b, sport: int, dport: int, payload: bytes, vlan: int) -> None:
    w.frame(
        _l2(a[1], b[1], vlan), _udp(sport, dport, 8 + len(payload), 0) + payload, a[0], b[0], 17
    )


def _ae(title: str) -> bytes:
    return title.encode().ljust(16)


def associate(pdu_type: int, called: str, calling: str) -> bytes:
    items = b"\x10\x00\x00\x15" + b"1.2.840.10008.3.1.1.1"
    ctx = b"\x30\x00\x00\x11" + b"1.2.840.10008.1.1" + b"\x40\x00\x00\x11" + b"1.2.840.10008.1.2"
    items += b"\x20\x00" + struct.pack(">H", 4 + len(ctx)) + b"\x01\x00\x00\x00" + ctx
    items += b"\x50\x00\x00\x08\x51\x00\x00\x04\x00\x00\x40\x00"
    body = b"\x00\x01\x00\x00" + _ae(called) + _ae(calling) + b"\x00" * 32 + items
    return bytes([pdu_type, 0]) + struct.pack(">I", len(body)) + body


def pdata(n: int) -> bytes:
    pdv = b"\x01\x00" + os.urandom(16) * (n // 16)
    return b"\x04\x00" + struct.pack(">I", len(pdv) + 4) + struct.pack(">I", len(pdv)) + pdv


def client_hello(sni: str) -> bytes:
    name = sni.encode()
    sni_ext = struct.pack(">HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack(">H", len(sni_ext)) + sni_ext
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def dns_answer(qid: int, name: str, addr: bytes) -> tuple[bytes, bytes]:
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + b"\x00\x01\x00\x01"
    r = struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + qname + b"\x00\x01\x00\x01"
    r += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04" + addr
    return q, r


def dhcp(op: int, mtype: int, mac: bytes, yiaddr: bytes, host: str, vendor: str) -> bytes:
    msg = struct.pack(">BBBBIHH4s4s4s4s", op, 1, 6, 0, random.getrandbits(32), 0, 0x8000,
                      b"\0" * 4, yiaddr, b"\0" * 4, b"\0" * 4)  # fmt: skip
    msg += mac + b"\0" * 10 + b"\0" * 192 + b"\x63\x82\x53\x63" + bytes([53, 1, mtype])
    if op == 1:
        msg += bytes([12, len(host)]) + host.encode() + bytes([60, len(vendor)]) + vendor.encode()
    if mtype == 3:
        msg += bytes([50, 4]) + yiaddr
    return msg + b"\xff"


def hl7(i: int, sender: str, facility: str, mtype: str) -> bytes:
    msh = (
        f"MSH|^~\\&|{sender}|{facility}|HIS_CORE|TOKYO_GENERAL|20240501120000||{mtype}|M{i}|P|2.5\r"
        f"PID|1||{i:08d}^^^HOSP||YAMADA^TARO||19700101|M\rPV1|1|I|W3^301^1\r"
    )
    return b"\x0b" + msh.encode() + b"\x1c\r"


def generate(path: Path, target: int, seed: int = 7) -> dict:
    random.seed(seed)

    def node(i: int) -> tuple[bytes, bytes]:
        return bytes(
            [10, 20 + i // 65536 % 200, i // 256 % 256, i % 256]
        ), b"\x02\x00" + struct.pack(">I", i)

    devices = [node(1000 + i) for i in range(3000)]
    pacs = [node(10 + i) for i in range(3)]
    hl7_engine, dns_server, dhcp_server = node(20), node(21), node(22)
    web = [node(30 + i) for i in range(10)]
    bcast = (b"\xff\xff\xff\xff", b"\xff" * 6)
    zero = (b"\x00\x00\x00\x00", devices[0][1])
    expect = {"dicom_associations": 0, "hl7_messages": 0, "ae_titles": set(), "sni": set()}
    with open(path, "wb") as fh:
        w = Writer(fh)
        i = 0
        while w.n < target:
            i += 1
            dev = devices[i % len(devices)]
            vlan = 100 + i % 8 if i % 2 else 0
            eph = 30000 + i % 30000
            kind = i % 10
            if kind < 3:  # DICOM association: RQ, AC, data, release
                port = DICOM_PORTS[i % 3]
                server = pacs[i % 3]
                calling, called = f"MOD_{i % 3000:04d}", f"PACS_{i % 3}"
                c = Tcp(w, dev, server, eph, port, vlan)
                c.send(0, associate(1, called, calling))
                c.send(1, associate(2, called, calling))
                for _ in range(12):
                    c.send(0, pdata(1024))
                    c.send(1, b"\x04\x00\x00\x00\x00\x10" + b"\x00" * 16)
                c.send(0, b"\x05\x00\x00\x00\x00\x04\x00\x00\x00\x00")
                c.send(1, b"\x06\x00\x00\x00\x00\x04\x00\x00\x00\x00")
                c.close()
                expect["dicom_associations"] += 1
                expect["ae_titles"].update({calling, called})
            elif kind < 6:  # HL7 over MLLP: several messages, each acknowledged
                c = Tcp(w, dev, hl7_engine, eph, HL7_PORTS[i % 2], vlan)
                for m in range(5):
                    mtype = "ADT^A01" if m % 2 else "ORU^R01"
                    c.send(0, hl7(i * 10 + m, f"APP_{i % 50}", f"WARD_{i % 12}", mtype))
                    c.send(1, b"\x0bMSH|^~\\&|HIS_CORE|TOKYO_GENERAL|A|B|2024||ACK|1|P|2.5\r"
                              b"MSA|AA|1\r\x1c\r")  # fmt: skip
                    expect["hl7_messages"] += 2
                c.close()
            elif kind < 9:  # HTTPS with SNI
                server = web[i % len(web)]
                sni = f"portal{i % 10}.hospital.example.jp"
                c = Tcp(w, dev, server, eph, 443, vlan)
                c.send(0, client_hello(sni))
                c.send(1, b"\x16\x03\x03\x00\x40" + os.urandom(64))
                for _ in range(6):
                    c.send(1, b"\x17\x03\x03\x05\x00" + os.urandom(1280))
                    c.send(0, b"\x17\x03\x03\x00\x40" + os.urandom(64))
                c.close()
                expect["sni"].add(sni)
            else:  # DNS, plus DHCP every tenth time
                q, r = dns_answer(i & 0xFFFF, f"dev{i % 3000}.hospital.example.jp", dev[0])
                for _ in range(5):
                    udp(w, dev, dns_server, eph, 53, q, vlan)
                    udp(w, dns_server, dev, 53, eph, r, vlan)
                if i % 100 == 9:
                    host, vendor = f"infusion-{i % 3000}", "PumpCo-OS 4.2"
                    udp(w, zero, bcast, 68, 67, dhcp(1, 1, dev[1], b"\0" * 4, host, vendor), vlan)
                    udp(w, dhcp_server, bcast, 67, 68, dhcp(2, 2, dev[1], dev[0], "", ""), vlan)
                    udp(w, zero, bcast, 68, 67, dhcp(1, 3, dev[1], dev[0], host, vendor), vlan)
                    udp(w, dhcp_server, bcast, 67, 68, dhcp(2, 5, dev[1], dev[0], "", ""), vlan)
        w.flush()
    expect["packets"] = w.n
    return expect


def run(cmd: list[str], out: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of one process, its standard output sent to ``out``."""
    with open(out, "wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.DEVNULL, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{cmd[0]} failed with exit code {proc.returncode}")
    return elapsed, usage.ru_maxrss // 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--packets", type=int, default=2_000_000)
    ap.add_argument("--rounds", type=int, default=1, help="runs of each tool; the median is kept")
    ap.add_argument("--keep", metavar="DIR", help="write the capture and outputs here")
    args = ap.parse_args()
    tshark = shutil.which("tshark")
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="medshield-pcap-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    pcap = workdir / "hospital.pcap"
    t0 = time.perf_counter()
    expect = generate(pcap, args.packets)
    print(f"generated {pcap}: {expect['packets']:,} packets, {pcap.stat().st_size / 1e6:.0f} MB, "
          f"{expect['dicom_associations']:,} DICOM associations, {expect['hl7_messages']:,} HL7 "
          f"messages, in {time.perf_counter() - t0:.1f} s")  # fmt: skip

    medshield = [str(Path(sys.executable).with_name("medshield")), "discover", "pcap", str(pcap),
                 "--format", "json"]  # fmt: skip
    decode = [f"tcp.port=={p},dicom" for p in DICOM_PORTS[1:]]
    decode += [f"tcp.port=={p},hl7" for p in HL7_PORTS]
    fields = ["ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
              "frame.len", "tcp.flags.syn", "dicom.assoc.ae.calling", "dicom.assoc.ae.called",
              "hl7.message.type", "hl7.event.type", "tls.handshake.extensions_server_name",
              "http.host", "http.user_agent", "dns.resp.name", "dns.a", "dhcp.hw.mac_addr",
              "dhcp.option.hostname", "dhcp.option.vendor_class_id"]  # fmt: skip
    tshark_cmd = [tshark or "tshark", "-n", "-r", str(pcap), "-T", "fields", "-E", "occurrence=a"]
    for d in decode:
        tshark_cmd += ["-d", d]
    for f in fields:
        tshark_cmd += ["-e", f]
    print("medshield:", " ".join(medshield))
    print("tshark:   ", " ".join(tshark_cmd))

    env_ok = {"MEDSHIELD_DATA_DIR": os.environ.get("MEDSHIELD_DATA_DIR", str(ROOT / "data/test"))}
    os.environ.update(env_ok)
    m_out, t_out = workdir / "medshield.json", workdir / "tshark.tsv"
    m_runs, t_runs = [], []
    for _ in range(args.rounds):
        m_runs.append(run(medshield, m_out))
        if tshark:
            t_runs.append(run(tshark_cmd, t_out))

    # The two must agree before their times mean anything
    data = json.loads(m_out.read_text())
    ae = {t for h in data["hosts"] for t in h["dicom_ae_titles"]}
    sni = {s for h in data["hosts"] for s in h.get("tls_sni", ())}
    assert ae == expect["ae_titles"], "medshield AE titles differ from the generated ones"
    assert sni == expect["sni"], "medshield SNI names differ from the generated ones"
    if tshark:
        t_ae, t_assoc, t_hl7, t_sni = set(), 0, 0, set()
        for line in t_out.read_text().splitlines():
            cols = line.split("\t")
            if cols[8]:
                t_assoc += cols[8].count(",") + 1
                t_ae.update(cols[8].split(",") + cols[9].split(","))
            if cols[10]:
                t_hl7 += cols[10].count(",") + 1
            if cols[12]:
                t_sni.add(cols[12])
        # tshark reports calling/called in both the RQ and the AC: two per association
        print(f"agreement: AE titles {len(ae)} (medshield) / {len(t_ae)} (tshark); "
              f"DICOM associations {expect['dicom_associations']:,} generated, "
              f"{t_assoc // 2:,} tshark; HL7 messages {expect['hl7_messages']:,} generated, "
              f"{t_hl7:,} tshark; SNI {len(sni)} / {len(t_sni)}")  # fmt: skip

    def median(runs: list[tuple[float, int]]) -> tuple[float, int]:
        times = sorted(r[0] for r in runs)
        return times[len(times) // 2], max(r[1] for r in runs)

    n = expect["packets"]
    m_time, m_rss = median(m_runs)
    print(f"medshield: {m_time:.2f} s, {n / m_time:,.0f} packets/s, peak RSS {m_rss} MB, "
          f"{len(data['hosts']):,} hosts, {len(data['flows']):,} flows")  # fmt: skip
    if tshark:
        t_time, t_rss = median(t_runs)
        print(f"tshark:    {t_time:.2f} s, {n / t_time:,.0f} packets/s, peak RSS {t_rss} MB")
        print(f"ratio: medshield is {t_time / m_time:.1f}x tshark's speed (target >= 5x)")
    else:
        print("tshark not installed: no comparison")
    if not args.keep:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
