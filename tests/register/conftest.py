"""A small register (two buildings, a switch, a firewall, a virtual server...) and helpers."""

from __future__ import annotations

import copy
import csv
import io
from typing import Any

import pytest

from medshield.core.models import ObjectChange
from medshield.register.document import export_document, import_document, write_json


def _asset(tag: str, name: str, kind: str, **over: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "asset_tag": tag,
        "name": name,
        "kind": kind,
        "status": "in_service",
        "manufacturer": "",
        "model": "",
        "serial_number": "",
        "software_version": "",
        "department": "",
        "owner": "",
        "criticality": "",
        "handles_patient_data": False,
        "support_contact": "",
        "network_role": "",
        "hostname": "",
        "role": "",
        "is_virtual": False,
        "host": None,
        "place": None,
        "interfaces": [],
        "notes": "",
    }
    record.update(over)
    return record


def _place(building: str, floor: str, room: str, rack: str | None = None) -> dict[str, Any]:
    return {"site": "MAIN", "building": building, "floor": floor, "room": room, "rack": rack}


def _iface(name: str, mac: str = "", *ips: str) -> dict[str, Any]:
    return {"name": name, "mac": mac, "ip_addresses": list(ips)}


REGISTER: dict[str, Any] = {
    "format": "medshield-register",
    "version": 1,
    "places": [
        {
            "code": "MAIN",
            "name": "中央病院",
            "address": "東京都千代田区1-1",
            "buildings": [
                {
                    "code": "A",
                    "name": "本館",
                    "floors": [
                        {
                            "name": "B1",
                            "level": -1,
                            "rooms": [
                                {
                                    "code": "SV",
                                    "name": "サーバ室",
                                    "racks": [{"name": "R01", "u_height": 42}],
                                }
                            ],
                        },
                        {
                            "name": "1F",
                            "level": 1,
                            "rooms": [{"code": "101", "name": "外来受付", "racks": []}],
                        },
                        {
                            "name": "3F",
                            "level": 3,
                            "rooms": [{"code": "301", "name": "ICU", "racks": []}],
                        },
                    ],
                },
                {
                    "code": "B",
                    "name": "東館",
                    "floors": [
                        {
                            "name": "2F",
                            "level": 2,
                            "rooms": [{"code": "201", "name": "生理検査室", "racks": []}],
                        }
                    ],
                },
            ],
        }
    ],
    "zones": [
        {"name": "サーバ", "description": "院内サーバ"},
        {"name": "医療機器", "description": ""},
    ],
    "vlans": [
        {"site": "MAIN", "vid": 110, "name": "ME-ICU"},
        {"site": "MAIN", "vid": 200, "name": "Servers"},
    ],
    "subnets": [
        {
            "prefix": "10.1.0.0/16",
            "name": "Hospital",
            "site": None,
            "vlan": None,
            "zone": None,
            "gateway": None,
            "description": "",
        },
        {
            "prefix": "10.1.10.0/24",
            "name": "ICU monitors",
            "site": "MAIN",
            "vlan": 110,
            "zone": "医療機器",
            "gateway": "10.1.10.1",
            "description": "",
        },
        {
            "prefix": "10.1.20.0/24",
            "name": "Servers",
            "site": "MAIN",
            "vlan": 200,
            "zone": "サーバ",
            "gateway": "10.1.20.1",
            "description": "",
        },
    ],
    "assets": [
        _asset(
            "ME-000123",
            "Patient monitor ICU-1",
            "medical_device",
            manufacturer="Nihon Kohden",
            model="BSM-6701",
            serial_number="12345",
            software_version="01-52",
            department="ICU",
            owner="ME室",
            criticality="life_sustaining",
            handles_patient_data=True,
            place=_place("A", "3F", "301"),
            interfaces=[_iface("eth0", "00:1a:2b:3c:4d:5e", "10.1.10.21")],
        ),
        _asset(
            "ME-000124",
            "Ultrasound",
            "medical_device",
            criticality="diagnostic",
            place=_place("B", "2F", "201"),
            interfaces=[_iface("eth0", "00:1a:2b:3c:4d:5f", "10.1.10.22")],
        ),
        _asset(
            "NW-0001",
            "Firewall",
            "network_device",
            network_role="firewall",
            place=_place("A", "B1", "SV", "R01"),
            interfaces=[
                _iface("inside", "", "10.1.20.1"),
                _iface("outside", "", "203.0.113.2"),
            ],
        ),
        _asset(
            "NW-0042",
            "Core switch",
            "network_device",
            network_role="switch",
            role="core switch",
            place=_place("A", "B1", "SV", "R01"),
            interfaces=[
                _iface("Gi1/0/1"),
                _iface("Gi1/0/12"),
                _iface("Gi1/0/2"),
                _iface("Gi1/0/24"),
                _iface("mgmt", "", "10.1.20.2"),
            ],
        ),
        _asset("PC-0001", "受付端末", "pc", place=_place("A", "1F", "101")),
        _asset(
            "SV-0001",
            "VM host",
            "server",
            hostname="vmhost01",
            place=_place("A", "B1", "SV", "R01"),
            interfaces=[_iface("eth0", "00:50:56:00:00:01", "10.1.20.10")],
        ),
        _asset(
            "SV-0002",
            "PACS",
            "server",
            hostname="pacs01",
            role="PACS image store",
            is_virtual=True,
            host="SV-0001",
            interfaces=[_iface("eth0", "00:50:56:00:00:02", "10.1.20.11", "10.1.20.12")],
            notes="複数行の\n備考",
        ),
    ],
    "cabling": [
        {
            "a": {"asset_tag": "ME-000123", "interface": "eth0"},
            "b": {"asset_tag": "NW-0042", "interface": "Gi1/0/12"},
            "cable_type": "copper",
            "label": "C-0123",
        },
        {
            "a": {"asset_tag": "ME-000124", "interface": "eth0"},
            "b": {"asset_tag": "NW-0042", "interface": "Gi1/0/2"},
            "cable_type": "copper",
            "label": "",
        },
        {
            "a": {"asset_tag": "NW-0001", "interface": "inside"},
            "b": {"asset_tag": "NW-0042", "interface": "Gi1/0/24"},
            "cable_type": "fiber",
            "label": "",
        },
        {
            "a": {"asset_tag": "SV-0001", "interface": "eth0"},
            "b": {"asset_tag": "NW-0042", "interface": "Gi1/0/1"},
            "cable_type": "copper",
            "label": "",
        },
    ],
    "external_connections": [
        {
            "name": "GE remote service",
            "kind": "remote_maintenance",
            "provider": "GE HealthCare",
            "method": "ipsec_vpn",
            "peer": "203.0.113.10",
            "settings": "平日 9-17時のみ",
            "through": ["NW-0001"],
            "reaches": ["ME-000123", "ME-000124"],
        }
    ],
    "flows": [
        {
            "source": "ME-000123",
            "destination": "SV-0002",
            "protocol": "HL7",
            "port": 2575,
            "transport": "tcp",
            "purpose": "バイタル送信",
        },
        {
            "source": "SV-0002",
            "destination": "ME-000124",
            "protocol": "DICOM",
            "port": None,
            "transport": "tcp",
            "purpose": "",
        },
    ],
}


@pytest.fixture(autouse=True)
def english() -> Any:
    """Messages in English (the source language), whatever the lead's catalogue holds."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def register_doc() -> dict[str, Any]:
    """The small register as a document, in the exact form an export writes."""
    return copy.deepcopy(REGISTER)


@pytest.fixture
def loaded(register_doc: dict[str, Any]) -> dict[str, Any]:
    """The database holding the small register."""
    import_document(register_doc)
    return register_doc


def state() -> tuple[bytes, int]:
    """The whole register as JSON bytes, and how many history rows exist."""
    return write_json(export_document()), ObjectChange.objects.count()


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def csv_bytes(rows: list[dict[str, str]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)
