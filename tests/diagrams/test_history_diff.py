"""Diagrams drawn from the database: as the register stands, as it stood, and what changed."""

from __future__ import annotations

import json
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from medshield.assets.models import Asset, Building, Floor, Room, Site
from medshield.diagrams import diff as diffing
from medshield.diagrams import service
from medshield.diagrams.loader import load_at, load_current
from medshield.network.models import (
    Cable,
    ExternalConnection,
    Interface,
    IPAddress,
    Subnet,
    Zone,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def register() -> dict[str, object]:
    site = Site.objects.create(code="C", name="中央病院")
    main = Building.objects.create(site=site, code="MAIN", name="本館")
    f3 = Floor.objects.create(building=main, name="3F", level=3)
    icu = Room.objects.create(floor=f3, code="301", name="ICU")
    hcu = Room.objects.create(floor=f3, code="302", name="HCU")
    zone = Zone.objects.create(name="医療機器")
    subnet = Subnet.objects.create(prefix="10.1.10.0/24", name="ICU", zone=zone)
    switch = Asset.objects.create(
        asset_tag="NW-1",
        name="Access SW",
        kind="network_device",
        network_role="switch",
        room=icu,
    )
    fw1 = Asset.objects.create(
        asset_tag="NW-2", name="Edge FW", kind="network_device", network_role="firewall"
    )
    fw2 = Asset.objects.create(
        asset_tag="NW-3", name="Medical FW", kind="network_device", network_role="firewall"
    )
    pump = Asset.objects.create(
        asset_tag="ME-1",
        name="輸液ポンプ",
        kind="medical_device",
        room=icu,
        serial_number="SN-778899",
        criticality="life_sustaining",
    )
    port = Interface.objects.create(asset=switch, name="Gi1/0/1")
    nic = Interface.objects.create(asset=pump, name="eth0", mac="00:1a:2b:3c:4d:5e")
    IPAddress.objects.create(interface=nic, address="10.1.10.21", subnet=subnet)
    fw_if = Interface.objects.create(asset=fw2, name="port1")
    IPAddress.objects.create(interface=fw_if, address="10.1.10.1", subnet=subnet)
    Cable.objects.create(a_interface=nic, b_interface=port)
    conn = ExternalConnection.objects.create(
        name="Terumo remote", kind="remote_maintenance", method="ipsec_vpn", peer="203.0.113.7"
    )
    conn.set_assets(through=[fw1], reaches=[pump])
    return {
        "icu": icu,
        "hcu": hcu,
        "switch": switch,
        "fw1": fw1,
        "fw2": fw2,
        "pump": pump,
        "conn": conn,
    }


def test_the_past_is_rebuilt_from_history(register: dict[str, object]) -> None:
    now = load_current()
    past = load_at(timezone.now())
    assert past.assets == now.assets
    assert past.cables == now.cables and past.ips == now.ips
    assert past.connections == now.connections


def test_the_diff_names_exactly_a_move_a_firewall_path_and_a_removed_switch(
    register: dict[str, object],
) -> None:
    time.sleep(0.01)
    before = timezone.now()
    time.sleep(0.01)
    pump = Asset.objects.get(asset_tag="ME-1")
    pump.room = register["hcu"]  # type: ignore[assignment]
    pump.save()
    conn = ExternalConnection.objects.get(name="Terumo remote")
    conn.set_assets(through=[register["fw1"], register["fw2"]], reaches=[pump])  # type: ignore[list-item]
    Asset.objects.get(asset_tag="NW-1").delete()

    changes = diffing.diff(load_at(before), load_current())
    assert {(c.action, c.kind, c.label) for c in changes} == {
        ("changed", "asset", "輸液ポンプ (ME-1)"),
        ("changed", "connection", "Terumo remote"),
        ("removed", "asset", "Access SW (NW-1)"),
    }
    details = {c.label: c.details for c in changes}
    assert details["輸液ポンプ (ME-1)"] == ("room: 本館 › 3F › 301 ICU → 本館 › 3F › 302 HCU",)
    assert details["Terumo remote"] == ("through: NW-2 ⇒ NW-2 → NW-3",)

    out = StringIO()
    call_command(
        "diagram_diff", "physical", "--from", before.isoformat(), "--format", "json", stdout=out
    )
    listed = json.loads(out.getvalue())
    assert {(c["action"], c["object"]) for c in listed} == {
        ("changed", "輸液ポンプ (ME-1)"),
        ("removed", "Access SW (NW-1)"),
    }
    text, _ = service.build_diff(service.Request(kind="network"), before)
    assert "#b91c1c" in text  # the removed switch drawn in red


def test_the_cli_draws_every_diagram_in_every_format(
    register: dict[str, object], tmp_path: Path
) -> None:
    magic = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF"}
    for kind in ("network", "physical", "server", "system"):
        for fmt, head in magic.items():
            target = tmp_path / f"{kind}.{fmt}"
            call_command("diagram", kind, "--format", fmt, "-o", str(target), stderr=StringIO())
            assert target.read_bytes().startswith(head), (kind, fmt)


def test_redact_hides_addresses_serials_and_hostnames(register: dict[str, object]) -> None:
    out = StringIO()
    call_command("diagram", "network", "--redact", "--expanded", stdout=out)
    svg = out.getvalue()
    assert "輸液ポンプ" in svg
    for secret in ("10.1.10.21", "10.1.10.0/24", "00:1a:2b:3c:4d:5e", "SN-778899", "203.0.113.7"):
        assert secret not in svg


def test_an_unknown_filter_is_named(register: dict[str, object]) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No building named WEST"):
        call_command("diagram", "network", "--building", "WEST", stdout=StringIO())


def test_flows_are_drawn_and_their_changes_named(register: dict[str, object]) -> None:
    from medshield.network.models import Flow

    before = timezone.now()
    time.sleep(0.01)
    Flow.objects.create(
        source=register["pump"], destination=register["fw2"], protocol="HTTPS", port=443
    )
    assert len(load_current().flows) == 1
    out = StringIO()
    call_command("diagram", "system", "--format", "dot", stdout=out)
    assert 'label="HTTPS 443"' in out.getvalue()
    changes = diffing.diff(load_at(before), load_current(), kind="system")
    assert [(c.action, c.kind) for c in changes] == [("added", "flow")]


def test_a_deleted_asset_leaves_no_phantom_change_behind(register: dict[str, object]) -> None:
    Asset.objects.get(asset_tag="ME-1").delete()  # reached by the remote-maintenance line
    time.sleep(0.01)
    since = timezone.now()
    assert diffing.diff(load_at(since), load_current()) == []
    assert load_at(since).connections == load_current().connections


def test_the_path_keeps_its_order_through_files_history_and_drawing(
    register: dict[str, object],
) -> None:
    from medshield.register.document import export_document, import_document

    conn = ExternalConnection.objects.get(name="Terumo remote")
    fw1, fw2, pump = register["fw1"], register["fw2"], register["pump"]
    conn.set_assets(through=[fw2, fw1], reaches=[pump])  # type: ignore[list-item]
    assert [a.asset_tag for a in conn.path()] == ["NW-3", "NW-2"]
    doc = export_document()
    [exported] = doc["external_connections"]
    assert exported["through"] == ["NW-3", "NW-2"]  # not sorted: the order is the path
    assert load_current().connections[conn.pk].through == (fw2.pk, fw1.pk)  # type: ignore[attr-defined]
    assert load_at(timezone.now()).connections == load_current().connections
    text, _ = service.build_diff(service.Request(kind="network"), timezone.now())
    assert text.index(f'"c{conn.pk}" -> "a{fw2.pk}"') < text.index(f'"a{fw2.pk}" -> "a{fw1.pk}"')  # type: ignore[attr-defined]
    exported["through"] = ["NW-2", "NW-3"]
    assert import_document(doc).counts["external_connections"]["updated"] == 1
    assert [a.asset_tag for a in conn.path()] == ["NW-2", "NW-3"]
