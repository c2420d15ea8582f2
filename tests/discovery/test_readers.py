"""The nmap and Zeek readers on the real samples of the shared corpus, and on broken input."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pytest

from medshield.discovery.nmap import NmapError, read_nmap
from medshield.discovery.zeek import ZeekError, read_zeek

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
NMAP_FILES = sorted((CORPUS / "nmap" / "python-libnmap").glob("*.xml"))
ZEEK_FILES = sorted((CORPUS / "zeek").glob("*/*.log"))


def test_the_corpus_is_there() -> None:
    assert len(NMAP_FILES) == 6
    assert len(ZEEK_FILES) == 9


@pytest.mark.parametrize("path", NMAP_FILES, ids=lambda p: p.name)
def test_every_nmap_sample_reads(path: Path) -> None:
    scan = read_nmap(path)
    assert scan.complete and scan.warnings == []
    data = scan.as_json()
    assert data["flows"] == []
    assert data["hosts"], "every sample has at least one host up"
    for host in data["hosts"]:
        assert host["ip"]
        assert set(host) >= {"ip", "mac", "hostnames", "protocols", "dicom_ae_titles"}


def test_nmap_details_of_a_version_and_os_scan() -> None:
    scan = read_nmap(CORPUS / "nmap" / "python-libnmap" / "os_scan5.xml")
    assert scan.hosts_down == 252
    router = next(h for h in scan.hosts if h.ip == "192.168.1.1")
    assert router.mac == "6c:2e:85:19:af:00"
    assert {p.port for p in router.open_ports} >= {23, 80, 443}
    assert any(accuracy == 100 for _, accuracy in scan.hosts[1].os_matches + router.os_matches)
    banner = read_nmap(CORPUS / "nmap" / "python-libnmap" / "1_os_banner_scripts.xml").hosts[0]
    ssh = next(p for p in banner.open_ports if p.port == 22)
    assert (ssh.service, ssh.product, ssh.version) == ("ssh", "OpenSSH", "5.3")
    assert banner.hostnames == ["localhost"]


def test_a_truncated_scan_keeps_the_hosts_before_the_break(tmp_path: Path) -> None:
    text = (CORPUS / "nmap" / "python-libnmap" / "os_scan5.xml").read_bytes()
    first_up = text.index(b'<status state="up"')
    cut = text.index(b"</host>", first_up) + 200  # inside the host after the first one up
    path = tmp_path / "cut.xml"
    path.write_bytes(text[:cut])
    scan = read_nmap(path)
    assert not scan.complete
    assert len(scan.hosts) == 1
    assert "breaks off" in scan.warnings[0]


def test_entities_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE n [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        "<nmaprun>&b;</nmaprun>"
    )
    with pytest.raises(NmapError, match="entities"):
        read_nmap(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"<html><body>no</body></html>", os.urandom(4096), b"<nmaprun"],
    ids=["empty", "other-xml", "random", "cut-root"],
)
def test_not_nmap_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.xml"
    path.write_bytes(content)
    with pytest.raises(NmapError, match="not an nmap XML report"):
        read_nmap(path)


@pytest.mark.parametrize("path", ZEEK_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_zeek_sample_reads_or_says_why(path: Path) -> None:
    if path.name == "weird.log":
        with pytest.raises(ZeekError, match="medshield reads conn, dhcp, dns"):
            read_zeek(path)
        return
    log = read_zeek(path)
    assert log.complete and log.warnings == []
    assert log.kind in ("conn", "dhcp", "dns")
    assert log.rows > 0
    data = log.as_json()
    assert data["hosts"]
    if log.kind == "conn":
        assert data["flows"]


def test_zeek_facts_from_tsv_and_json() -> None:
    dhcp = read_zeek(CORPUS / "zeek" / "zat-json" / "dhcp.log").as_json()["hosts"]
    assert dhcp == [
        dict(
            dhcp[0],
            ip="10.18.20.97",
            mac="00:01:24:56:9b:cf",
            hostnames=["Juanita-Work-PC"],
            protocols=["DHCP"],
        )
    ]
    old = read_zeek(CORPUS / "zeek" / "zat-tsv" / "dhcp.log").as_json()["hosts"][0]
    assert (old["ip"], old["mac"]) == ("192.168.33.10", "00:20:18:eb:ca:21")  # Bro 2.x columns
    baseline = read_zeek(CORPUS / "zeek" / "zeek-baseline" / "dhcp-all-msg-types.dhcp.log")
    host = baseline.as_json()["hosts"][0]
    assert host["hostnames"] == ["btest.is.cool"] and host["first_seen"] is None  # XXXX times
    conn = read_zeek(CORPUS / "zeek" / "zat-json" / "conn.log")
    kerberos = [f for f in conn.flows.values() if f.dst_port == 88]
    assert kerberos and kerberos[0].protocol == "Kerberos" and kerberos[0].packets > 0
    dns = read_zeek(CORPUS / "zeek" / "zat-tsv" / "dns.log").as_json()["hosts"]
    named = next(h for h in dns if h["ip"] == "54.245.228.191")
    assert named["name_only"] and "guyspy.com" in named["hostnames"]


def test_tsv_and_json_of_the_same_rows_agree() -> None:
    tsv = (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        "#path\tconn\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\t"
        "orig_pkts\tresp_pkts\torig_ip_bytes\tresp_ip_bytes\n"
        "#types\ttime\taddr\tport\taddr\tport\tenum\tstring\tcount\tcount\tcount\tcount\n"
        "1700000000.5\t10.0.0.1\t5000\t10.0.0.2\t104\ttcp\t-\t3\t2\t300\t200\n"
    )
    json_line = (
        '{"ts":"2023-11-14T22:13:20.500000Z","id.orig_h":"10.0.0.1","id.orig_p":5000,'
        '"id.resp_h":"10.0.0.2","id.resp_p":104,"proto":"tcp","orig_pkts":3,"resp_pkts":2,'
        '"orig_ip_bytes":300,"resp_ip_bytes":200}\n'
    )
    a = read_zeek(io.BufferedReader(io.BytesIO(tsv.encode()))).as_json()
    b = read_zeek(io.BufferedReader(io.BytesIO(json_line.encode())), kind="conn").as_json()
    assert a == b
    assert a["flows"][0]["packets"] == 5 and a["flows"][0]["bytes"] == 500


def test_gzip_logs_and_their_truncation(tmp_path: Path) -> None:
    raw = (CORPUS / "zeek" / "zat-tsv" / "conn.log").read_bytes()
    packed = gzip.compress(raw)
    whole = tmp_path / "conn.log.gz"
    whole.write_bytes(packed)
    assert read_zeek(whole).rows == read_zeek(CORPUS / "zeek" / "zat-tsv" / "conn.log").rows
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    log = read_zeek(cut)
    assert not log.complete and log.warnings and 0 < log.rows


def test_a_cut_tsv_row_is_skipped_with_a_warning(tmp_path: Path) -> None:
    raw = (CORPUS / "zeek" / "zat-tsv" / "conn.log").read_text()
    path = tmp_path / "conn.log"
    path.write_text(raw[: raw.index("\n", 5000) - 30])
    log = read_zeek(path)
    assert not log.complete
    assert "columns" in log.warnings[0]


@pytest.mark.parametrize(
    "content", [b"", b"hello world\n", os.urandom(2048)], ids=["empty", "text", "random"]
)
def test_not_zeek_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(content)
    with pytest.raises(ZeekError):
        read_zeek(path)


def test_a_json_time_beyond_any_calendar_is_kept_as_no_time(tmp_path: Path) -> None:
    """Milliseconds written as seconds (year 51771, found by the fuzz tests) are not a crash."""
    path = tmp_path / "dhcp.log"
    path.write_text(
        '{"ts":1571575414483.749,"uids":["C1"],"client_addr":"10.18.20.97",'
        '"mac":"00:01:24:56:9b:cf","host_name":"Juanita-Work-PC","msg_types":["ACK"]}\n'
    )
    [host] = read_zeek(path).as_json()["hosts"]
    assert host["mac"] == "00:01:24:56:9b:cf"


def test_a_port_or_count_beyond_any_number_is_not_a_crash(tmp_path: Path) -> None:
    """ "1e99967" as a port (found by the fuzz tests) reads as no port."""
    head = (
        "#separator \\x09\n#path\tconn\n"
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\t"
        "resp_pkts\tconn_state\n"
    )
    row = "1571575414.5\tC1\t10.0.0.1\t68\t10.0.0.2\t{port}\tudp\tdhcp\t1e99967\tSF\n"
    path = tmp_path / "conn.log"
    path.write_text(head + row.format(port="1e99967") + row.format(port="70000"))
    flows = read_zeek(path).as_json()["flows"]
    assert flows and all(flow["dst_port"] is None for flow in flows)
