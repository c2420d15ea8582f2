"""Write the demo hospital's network evidence: an nmap scan and a Zeek conn.log.

    python medshield/discovery/demo/generate.py     (rewrites the two files beside it)

Generated from ``medshield.demo.generator.build_demo_document()`` so it always matches
``medshield demo load``. The scan covers the medical-device subnets (10.40.0.0/16) and the
departmental servers (10.20.0.0/24): every registered host there answers, plus three devices
nobody registered. The conn.log holds a few declared flows and one that no Flow declares.
Importing both after ``medshield demo load`` therefore shows exactly: 3 unknown hosts,
1 undeclared flow, no silent asset and no changed fact (tests/discovery/test_demo.py checks it).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import sys
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

HERE = Path(__file__).resolve().parent
SCAN = HERE / "demo-nmap-scan.xml"
CONN = HERE / "demo-zeek-conn.log"

#: when the demo evidence was "captured" (fixed, so the files do not change between runs)
START = int(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))).timestamp())
SCANNED = [ipaddress.ip_network("10.40.0.0/16"), ipaddress.ip_network("10.20.0.0/24")]

#: devices on the network that the register does not know (ip, mac, vendor, ports)
UNKNOWN = [
    ("10.40.0.201", "00:09:fb:4e:10:21", "Philips Medical Systems", [(104, "acr-nema")]),
    ("10.40.7.201", "00:1b:d4:88:02:7e", "B. Braun Melsungen", [(80, "http")]),
    ("10.40.10.201", "b8:27:eb:5a:91:c3", "Raspberry Pi Foundation", [(22, "ssh")]),
]
#: the undeclared flow: a modality copying images to a departmental server over SMB
UNDECLARED_PORT, UNDECLARED_SERVICE = 445, "smb"

SERVICE_NAMES = {104: "acr-nema", 11112: "dicom", 2575: "hl7", 443: "https", 80: "http"}
ZEEK_SERVICES = {104: "-", 2575: "-", 443: "ssl", 80: "http", 445: "smb"}


def _in_scope(ip: str) -> bool:
    return any(ipaddress.ip_address(ip) in net for net in SCANNED)


def build() -> tuple[str, str]:
    """(nmap XML, conn.log TSV) for the demo hospital."""
    from medshield.demo.generator import build_demo_document

    doc = build_demo_document()
    hosts: dict[str, dict[str, Any]] = {}
    addresses: dict[str, str] = {}  # asset tag → first in-scope address
    for asset in doc["assets"]:
        for iface in asset["interfaces"]:
            for ip in iface["ip_addresses"]:
                if _in_scope(ip):
                    hosts[ip] = {
                        "mac": iface.get("mac") or "",
                        "vendor": asset["manufacturer"],
                        "hostname": asset["hostname"],
                        "ports": set(),
                    }
                    addresses.setdefault(asset["asset_tag"], ip)
    declared = [
        f
        for f in doc["flows"]
        if f["port"] and f["source"] in addresses and f["destination"] in addresses
    ]
    for flow in declared:
        hosts[addresses[flow["destination"]]]["ports"].add(flow["port"])

    # nmap XML ---------------------------------------------------------------------------------
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<!DOCTYPE nmaprun>",
        f'<nmaprun scanner="nmap" args="nmap -sS -sV -T2 --max-rate 50 -oX demo-nmap-scan.xml '
        f'10.40.0.0/16 10.20.0.0/24" start="{START}" version="7.94" xmloutputversion="1.05">',
        '<scaninfo type="syn" protocol="tcp" numservices="1000" services="1-1000"/>',
    ]
    everyone = [(ip, h["mac"], h["vendor"], h["hostname"], h["ports"]) for ip, h in hosts.items()]
    everyone += [(ip, mac, vendor, "", {p for p, _ in ports}) for ip, mac, vendor, ports in UNKNOWN]
    names = {**SERVICE_NAMES, **{p: n for *_, ports in UNKNOWN for p, n in ports}}
    everyone.sort(key=lambda h: ipaddress.ip_address(h[0]))
    for n, (ip, mac, vendor, hostname, ports) in enumerate(everyone):
        t = START + 2 * n
        out.append(
            f'<host starttime="{t}" endtime="{t + 2}"><status state="up" reason="arp-response"/>'
        )
        out.append(f'<address addr="{ip}" addrtype="ipv4"/>')
        if mac:
            out.append(f'<address addr="{mac.upper()}" addrtype="mac" vendor={quoteattr(vendor)}/>')
        if hostname:
            out.append(f'<hostnames><hostname name="{hostname}" type="PTR"/></hostnames>')
        else:
            out.append("<hostnames/>")
        out.append("<ports>")
        for port in sorted(ports):
            name = names.get(port, "unknown")
            out.append(
                f'<port protocol="tcp" portid="{port}"><state state="open" reason="syn-ack"/>'
                f'<service name="{name}" method="table" conf="3"/></port>'
            )
        out.append("</ports></host>")
    out.append(
        f'<runstats><finished time="{START + 2 * len(everyone) + 5}" exit="success"/>'
        f'<hosts up="{len(everyone)}" down="0" total="{len(everyone)}"/></runstats>'
    )
    out.append("</nmaprun>")

    # Zeek conn.log ------------------------------------------------------------------------------
    fields = (
        "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes "
        "resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts "
        "orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents"
    ).split()
    types = (
        "time string addr port addr port enum string interval count count string bool bool "
        "count string count count count count set[string]"
    ).split()
    conn = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tconn",
        "#open\t2026-11-20-09-00-00",
        "#fields\t" + "\t".join(fields),
        "#types\t" + "\t".join(types),
    ]
    rows = [(f["source"], f["destination"], f["port"]) for f in declared[:12]]
    modality = next(f["source"] for f in declared if addresses[f["source"]].startswith("10.40.0."))
    server = next(
        tag
        for tag, ip in addresses.items()
        if ip.startswith("10.20.0.")
        and not any(
            f["source"] == modality and f["destination"] == tag and f["port"] == UNDECLARED_PORT
            for f in doc["flows"]
        )
    )
    rows.append((modality, server, UNDECLARED_PORT))
    for n, (src, dst, port) in enumerate(rows):
        ts = START + 600 + 37 * n
        conn.append(
            "\t".join(
                str(v)
                for v in (
                    f"{ts}.{n:06d}",
                    f"CdEmo{n:04d}x",
                    addresses[src],
                    49152 + n,
                    addresses[dst],
                    port,
                    "tcp",
                    ZEEK_SERVICES.get(port, "-"),
                    "12.5",
                    48213,
                    1204,
                    "SF",
                    "T",
                    "T",
                    0,
                    "ShADadFf",
                    44,
                    50501,
                    30,
                    2776,
                    "(empty)",
                )
            )  # fmt: skip
        )
    conn.append("#close\t2026-11-20-10-00-00")
    return "\n".join(out) + "\n", "\n".join(conn) + "\n"


def main() -> None:
    sys.path.insert(0, str(HERE.parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medshield.settings")
    import django

    django.setup()
    scan, conn = build()
    SCAN.write_text(scan, encoding="utf-8")
    CONN.write_text(conn, encoding="utf-8")
    print(f"wrote {SCAN.name} ({len(scan):,} bytes) and {CONN.name} ({len(conn):,} bytes)")


if __name__ == "__main__":
    main()
