"""Drift against a small register built in the test."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from medshield.discovery.drift import compute_drift
from medshield.discovery.observe import Evidence, import_file, store

from .conftest import CONN_HEAD, NMAP_HEAD, NMAP_TAIL, conn_row, nmap_host


@pytest.fixture
def observed(small_register: dict[str, Any], write: Any) -> dict[str, Any]:
    """A scan of 10.0.1.0/24: CT and PACS answer, the monitor does not (silent), one unknown
    host; the PACS answers from a new network card (changed MAC) under another name. The
    conn.log: CT → PACS DICOM 104 (declared) and CT → PACS 22 (undeclared)."""
    scan = write(
        "scan.xml",
        NMAP_HEAD
        + nmap_host("10.0.1.10", "02:00:00:00:00:10", ports=(80,))
        + nmap_host("10.0.1.20", "02:00:00:00:00:99", name="pacs02.hospital.local", ports=(104,))
        + nmap_host("10.0.1.77", "02:00:00:00:00:77", name="mystery")
        + NMAP_TAIL,
    )
    conn = write(
        "conn.log",
        CONN_HEAD
        + conn_row("10.0.1.10", "10.0.1.20", 104)
        + conn_row("10.0.1.10", "10.0.1.20", 22),
    )
    import_file(scan)
    import_file(conn)
    return small_register


def test_the_four_kinds_of_drift(observed: dict[str, Any]) -> None:
    drift = compute_drift()
    assert [(i.data["ip"], i.data["mac"]) for i in drift.unknown_hosts] == [
        ("10.0.1.77", "02:00:00:00:00:77")
    ]
    assert drift.unknown_hosts[0].data["hostnames"] == ["mystery"]
    # The monitor is silent; the office PC is in a subnet no evidence covers
    assert [i.key for i in drift.silent_assets] == ["ME-2"]
    assert drift.covered_subnets == ["10.0.1.0/24"]
    flows = [
        (i.data["source"], i.data["destination"], i.data["port"]) for i in drift.undeclared_flows
    ]
    assert flows == [("ME-1", "MS-1", 22)]
    assert drift.undeclared_flows[0].data["protocol"] == "SSH"
    facts = {
        (i.data["asset"], i.data["field"], i.data["registered"], i.data["observed"])
        for i in drift.changed_facts
    }
    assert facts == {
        ("MS-1", "mac", "02:00:00:00:00:20", "02:00:00:00:00:99"),
        ("MS-1", "hostname", "pacs01", "pacs02.hospital.local"),
    }


def test_a_renumbered_device_and_an_ae_title(small_register: dict[str, Any]) -> None:
    data = {
        "hosts": [
            # The monitor's MAC, at a new address
            {"ip": "10.0.1.31", "mac": "02:00:00:00:00:30", "last_seen": "2026-11-20T00:00:00Z"},
            # The CT calls itself CT_MAIN in DICOM; the register does not say so
            {
                "ip": "10.0.1.10",
                "dicom_ae_titles": ["CT_MAIN"],
                "last_seen": "2026-11-20T00:00:00Z",
            },
        ],
        "flows": [],
    }
    store(Evidence("pcap", "", data), file_name="c.pcap", sha256="1" * 64)
    facts = {
        (i.data["asset"], i.data["field"], i.data["observed"])
        for i in compute_drift().changed_facts
    }
    assert facts == {("ME-2", "ip", "10.0.1.31"), ("ME-1", "dicom_ae_title", "CT_MAIN")}
    # ME-2 was seen (by its MAC) at the new address: not silent
    assert [i.key for i in compute_drift().silent_assets] == ["MS-1"]


def test_silent_is_measured_from_the_newest_evidence_of_the_subnet(
    small_register: dict[str, Any],
) -> None:
    def seen(ip: str, when: str, sha: str) -> None:
        data = {"hosts": [{"ip": ip, "last_seen": when}], "flows": []}
        store(Evidence("pcap", "", data), file_name=f"{sha}.pcap", sha256=sha * 64)

    seen("10.0.1.10", "2026-01-01T00:00:00Z", "a")
    seen("10.0.1.20", "2026-03-01T00:00:00Z", "b")
    seen("10.0.1.30", "2026-02-25T00:00:00Z", "c")
    assert [i.key for i in compute_drift(silent_days=30).silent_assets] == ["ME-1"]
    assert [i.key for i in compute_drift(silent_days=3).silent_assets] == ["ME-1", "ME-2"]
    assert compute_drift(silent_days=365).silent_assets == []


def test_internet_addresses_are_not_unknown_devices(small_register: dict[str, Any]) -> None:
    data = {"hosts": [{"ip": "8.8.8.8"}, {"ip": "192.168.9.9"}], "flows": []}
    store(Evidence("pcap", "", data), file_name="d.pcap", sha256="2" * 64)
    assert [i.key for i in compute_drift().unknown_hosts] == ["192.168.9.9"]


def test_drift_command_json_and_table(observed: dict[str, Any]) -> None:
    out = StringIO()
    call_command("discover_drift", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert [
        len(data[k])
        for k in ("unknown_hosts", "silent_assets", "undeclared_flows", "changed_facts")
    ] == [1, 1, 1, 2]
    assert data["undeclared_flows"][0]["key"] == "ME-1>MS-1:22/tcp"
    out = StringIO()
    call_command("discover_drift", stdout=out)
    text = out.getvalue()
    assert "unknown hosts: 1" in text and "10.0.1.77" in text and "ME-1 (10.0.1.10)" in text


def test_accepting_a_new_address_moves_the_registered_one(small_register: dict[str, Any]) -> None:
    from medshield.discovery.drift import accept_change
    from medshield.network.models import IPAddress

    data = {"hosts": [{"ip": "10.0.1.31", "mac": "02:00:00:00:00:30"}], "flows": []}
    store(Evidence("pcap", "", data), file_name="e.pcap", sha256="3" * 64)
    item = next(i for i in compute_drift().changed_facts if i.data["field"] == "ip")
    assert accept_change(item) == "ME-2: 10.0.1.30 → 10.0.1.31"
    ip = IPAddress.objects.get(interface__asset__asset_tag="ME-2")
    assert ip.address == "10.0.1.31" and ip.subnet.prefix == "10.0.1.0/24"
    assert not [i for i in compute_drift().changed_facts if i.data["field"] == "ip"]
