"""The demo generator builds a complete, internally consistent register document (no database)."""

from __future__ import annotations

import bisect
import ipaddress
import json
import re
from collections import Counter
from typing import Any

import pytest

from medshield.demo.generator import build_demo_document

MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
KINDS = {"medical_device", "medical_system", "server", "network_device", "pc", "other"}
NETWORK_ROLES = {
    "switch",
    "router",
    "firewall",
    "wireless_ap",
    "wireless_controller",
    "vpn_gateway",
}
MAJOR_VENDORS = {
    "Canon Medical Systems",
    "Fujifilm",
    "GE HealthCare",
    "Siemens Healthineers",
    "Philips",
    "Nihon Kohden",
}
ASSET_KEYS = [
    "asset_tag",
    "name",
    "kind",
    "status",
    "manufacturer",
    "model",
    "serial_number",
    "software_version",
    "department",
    "owner",
    "criticality",
    "handles_patient_data",
    "support_contact",
    "network_role",
    "hostname",
    "role",
    "is_virtual",
    "host",
    "place",
    "interfaces",
    "notes",
]


@pytest.fixture(scope="module")
def standard() -> dict[str, Any]:
    return build_demo_document()


def check_consistent(doc: dict[str, Any]) -> None:
    """Every reference resolves and every key is unique, as the importer will demand."""
    assert list(doc) == [
        "format",
        "version",
        "places",
        "zones",
        "vlans",
        "subnets",
        "assets",
        "cabling",
        "external_connections",
        "flows",
    ]
    assert (doc["format"], doc["version"]) == ("medshield-register", 1)
    tags = {a["asset_tag"] for a in doc["assets"]}
    for flow in doc["flows"]:
        assert flow["source"] in tags and flow["destination"] in tags, flow
        assert flow["source"] != flow["destination"]
    keys = [(f["source"], f["destination"], f["protocol"], f["port"]) for f in doc["flows"]]
    assert len(keys) == len(set(keys))

    places: set[tuple[str, str, str, str, str | None]] = set()
    for site in doc["places"]:
        for building in site["buildings"]:
            assert len({f["name"] for f in building["floors"]}) == len(building["floors"])
            for floor in building["floors"]:
                codes = [r["code"] for r in floor["rooms"]]
                assert len(set(codes)) == len(codes), (building["code"], floor["name"])
                for room in floor["rooms"]:
                    key = (site["code"], building["code"], floor["name"], room["code"])
                    places.add((*key, None))
                    for rack in room["racks"]:
                        places.add((*key, rack["name"]))

    zones = {z["name"] for z in doc["zones"]}
    vids = [(v["site"], v["vid"]) for v in doc["vlans"]]
    assert len(set(vids)) == len(vids)
    assert all(1 <= vid <= 4094 for _, vid in vids)

    networks = []
    for subnet in doc["subnets"]:
        net = ipaddress.ip_network(subnet["prefix"], strict=True)
        assert ipaddress.ip_address(subnet["gateway"]) in net
        assert subnet["zone"] in zones
        assert (subnet["site"], subnet["vlan"]) in set(vids)
        networks.append(net)
    # non-overlapping: sorted by address, each ends before the next begins
    ordered = sorted(networks, key=lambda n: int(n.network_address))
    for left, right in zip(ordered, ordered[1:], strict=False):
        assert int(left.broadcast_address) < int(right.network_address), (left, right)
    starts = [int(n.network_address) for n in ordered]

    def subnet_of(address: str) -> ipaddress.IPv4Network:
        value = int(ipaddress.ip_address(address))
        index = bisect.bisect_right(starts, value) - 1
        assert index >= 0, address
        net = ordered[index]
        assert int(net.network_address) < value < int(net.broadcast_address), address
        return net

    tags = [a["asset_tag"] for a in doc["assets"]]
    assert len(set(tags)) == len(tags)
    assets = {a["asset_tag"]: a for a in doc["assets"]}
    interfaces: set[tuple[str, str]] = set()
    macs: list[str] = []
    addresses: list[str] = []
    for asset in doc["assets"]:
        assert list(asset) == ASSET_KEYS
        assert asset["kind"] in KINDS
        place = asset["place"]
        assert place is not None
        key = (place["site"], place["building"], place["floor"], place["room"], place["rack"])
        assert key in places, (asset["asset_tag"], key)
        assert bool(asset["network_role"]) == (asset["kind"] == "network_device")
        if asset["criticality"]:
            assert asset["kind"] in {"medical_device", "medical_system"}
        if asset["is_virtual"]:
            host = assets[asset["host"]]
            assert host["kind"] == "server" and not host["is_virtual"]
        else:
            assert asset["host"] is None
        names = [i["name"] for i in asset["interfaces"]]
        assert len(set(names)) == len(names), asset["asset_tag"]
        for interface in asset["interfaces"]:
            interfaces.add((asset["asset_tag"], interface["name"]))
            if interface["mac"]:
                assert MAC.match(interface["mac"]), interface["mac"]
                macs.append(interface["mac"])
            for address in interface["ip_addresses"]:
                subnet_of(address)
                addresses.append(address)
    assert len(set(macs)) == len(macs)
    assert len(set(addresses)) == len(addresses)

    cabled: list[tuple[str, str]] = []
    for cable in doc["cabling"]:
        a = (cable["a"]["asset_tag"], cable["a"]["interface"])
        b = (cable["b"]["asset_tag"], cable["b"]["interface"])
        assert a in interfaces and b in interfaces, cable
        assert a[0] != b[0]
        cabled += [a, b]
    assert len(set(cabled)) == len(cabled), "an interface is cabled twice"

    names = [c["name"] for c in doc["external_connections"]]
    assert len(set(names)) == len(names)
    for connection in doc["external_connections"]:
        assert connection["through"] and connection["reaches"]
        for tag in connection["through"] + connection["reaches"]:
            assert tag in assets
    json.dumps(doc)  # plain JSON types only


def test_standard_demo_is_consistent(standard: dict[str, Any]) -> None:
    check_consistent(standard)


def test_standard_demo_is_a_whole_hospital(standard: dict[str, Any]) -> None:
    assets = standard["assets"]
    assert len(assets) >= 300
    buildings = standard["places"][0]["buildings"]
    assert len(buildings) >= 2
    assert sum(len(b["floors"]) for b in buildings) >= 6
    assert {a["kind"] for a in assets} == KINDS
    assert {a["network_role"] for a in assets if a["network_role"]} == NETWORK_ROLES
    assert any(a["is_virtual"] and a["host"] for a in assets)
    assert {a["criticality"] for a in assets if a["criticality"]} == {
        "life_sustaining",
        "treatment",
        "diagnostic",
        "support",
    }
    models = " ".join(a["model"] for a in assets)
    for modality in ("Aquilion", "SIGNA", "Ingenia", "FDR", "Azurion", "AMULET", "LOGIQ"):
        assert modality in models
    subnets = standard["subnets"]
    assert len({s["zone"] for s in subnets}) >= 8
    assert all(not s["prefix"].startswith("203.0.113.") for s in subnets)


def test_remote_maintenance_per_major_vendor(standard: dict[str, Any]) -> None:
    assets = {a["asset_tag"]: a for a in standard["assets"]}
    remote = [c for c in standard["external_connections"] if c["kind"] == "remote_maintenance"]
    providers = Counter(c["provider"] for c in remote)
    assert MAJOR_VENDORS <= set(providers)
    assert all(n == 1 for n in providers.values())
    for connection in remote:
        roles = {assets[t]["network_role"] for t in connection["through"]}
        assert {"vpn_gateway", "firewall"} <= roles
        # a vendor's line reaches that vendor's equipment (or the servers of its system)
        makers = {assets[t]["manufacturer"] for t in connection["reaches"]}
        assert connection["provider"] in makers
        peer = ipaddress.ip_address(connection["peer"])
        assert peer in ipaddress.ip_network("203.0.113.0/24") or peer in ipaddress.ip_network(
            "198.51.100.0/24"
        )
    kinds = {c["kind"] for c in standard["external_connections"]}
    assert {"internet", "remote_maintenance"} <= kinds
    assert kinds & {"site_to_site", "closed_network"}


def test_the_same_seed_gives_the_same_document() -> None:
    first = json.dumps(build_demo_document(seed=7), ensure_ascii=False)
    assert first == json.dumps(build_demo_document(seed=7), ensure_ascii=False)
    assert first != json.dumps(build_demo_document(seed=8), ensure_ascii=False)


def test_scales_to_five_thousand_assets() -> None:
    doc = build_demo_document(assets=5000, seed=3)
    assert 4900 <= len(doc["assets"]) <= 5100
    check_consistent(doc)
    assert {a["kind"] for a in doc["assets"]} == KINDS


def test_scaling_down_keeps_the_infrastructure() -> None:
    doc = build_demo_document(assets=1)
    check_consistent(doc)
    assert {a["network_role"] for a in doc["assets"] if a["network_role"]} == NETWORK_ROLES
    assert len(doc["assets"]) < len(build_demo_document()["assets"])


def test_negative_asset_count_is_refused() -> None:
    with pytest.raises(ValueError):
        build_demo_document(assets=-1)


def test_the_demo_declares_the_hospitals_main_data_flows() -> None:
    doc = build_demo_document()
    by_tag = {a["asset_tag"]: a for a in doc["assets"]}
    seen = {
        (
            by_tag[f["source"]]["name"].split(" ")[0],
            by_tag[f["destination"]]["model"],
            f["protocol"],
        )
        for f in doc["flows"]
    }
    assert ("CT装置", "SYNAPSE", "DICOM") in seen  # images to PACS
    assert ("輸液ポンプ", "輸液ポンプ統合管理システム", "HTTPS") in seen
    assert any(protocol == "HL7" and model == "HOPE LifeMark-HX" for _, model, protocol in seen)
