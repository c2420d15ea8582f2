"""Fixtures of the discovery tests: a small register, and evidence files written on the fly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

NMAP_HEAD = (
    '<?xml version="1.0"?>\n<nmaprun scanner="nmap" args="nmap -sV 10.0.1.0/24" '
    'start="1795132800" version="7.94" xmloutputversion="1.05">\n'
)
NMAP_TAIL = '<runstats><finished time="1795132900"/></runstats>\n</nmaprun>\n'


def nmap_host(ip: str, mac: str = "", *, name: str = "", ports: tuple[int, ...] = ()) -> str:
    parts = ['<host starttime="1795132800" endtime="1795132802"><status state="up"/>']
    parts.append(f'<address addr="{ip}" addrtype="ipv4"/>')
    if mac:
        parts.append(f'<address addr="{mac}" addrtype="mac" vendor="Acme"/>')
    if name:
        parts.append(f'<hostnames><hostname name="{name}" type="PTR"/></hostnames>')
    parts.append("<ports>")
    for port in ports:
        parts.append(
            f'<port protocol="tcp" portid="{port}"><state state="open"/>'
            f'<service name="svc{port}"/></port>'
        )
    parts.append("</ports></host>\n")
    return "".join(parts)


CONN_HEAD = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
    "orig_bytes\tresp_bytes\tconn_state\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\t"
    "count\tcount\tcount\tcount\n"
)


def conn_row(src: str, dst: str, port: int, service: str = "-", ts: float = 1795132850.0) -> str:
    return (
        f"{ts}\tCx{port}\t{src}\t50000\t{dst}\t{port}\ttcp\t{service}\t1.0\t100\t200\tSF\t"
        "5\t400\t4\t300\n"
    )


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def small_register(db: Any) -> dict[str, Any]:
    """Two subnets; a modality, a PACS and a monitor in 10.0.1.0/24, a PC in 10.0.2.0/24.

    One declared flow: modality → PACS DICOM 104.
    """
    from medshield.assets.models import Asset
    from medshield.network.models import Flow, Interface, IPAddress, Subnet

    lan = Subnet.objects.create(prefix="10.0.1.0/24", name="devices")
    office = Subnet.objects.create(prefix="10.0.2.0/24", name="office")
    assets = {}
    for tag, name, kind, ip, mac, hostname in [
        ("ME-1", "CT", "medical_device", "10.0.1.10", "02:00:00:00:00:10", ""),
        ("MS-1", "PACS", "medical_system", "10.0.1.20", "02:00:00:00:00:20", "pacs01"),
        ("ME-2", "Monitor", "medical_device", "10.0.1.30", "02:00:00:00:00:30", ""),
        ("PC-1", "Office PC", "pc", "10.0.2.40", "02:00:00:00:00:40", ""),
    ]:
        asset = Asset(asset_tag=tag, name=name, kind=kind, hostname=hostname)
        asset.save()
        iface = Interface(asset=asset, name="eth0", mac=mac)
        iface.save()
        subnet = lan if ip.startswith("10.0.1.") else office
        IPAddress(interface=iface, address=ip, subnet=subnet).save()
        assets[tag] = asset
    Flow(source=assets["ME-1"], destination=assets["MS-1"], protocol="DICOM", port=104).save()
    return assets


@pytest.fixture
def write(tmp_path: Path) -> Any:
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def engineer_client(client: Any, engineer: Any) -> Any:
    """Logged in, with pages in English (the source language) unless a test asks otherwise."""
    from django.conf import settings

    client.force_login(engineer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client
