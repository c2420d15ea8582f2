"""The diagram engine on plain snapshots: no database, real Graphviz."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from medshield.diagrams import diff, dot
from medshield.diagrams.render import render
from medshield.diagrams.snapshot import (
    IP,
    Asset,
    Cable,
    Connection,
    Filters,
    Flow,
    Interface,
    Place,
    Snapshot,
    Subnet,
    Zone,
)


def hospital(endpoints: int = 4) -> Snapshot:
    places = {
        8: Place(8, "site", None, "C", "中央病院"),
        17: Place(17, "building", 8, "MAIN", "本館"),
        25: Place(25, "building", 8, "EAST", "東館"),
        26: Place(26, "floor", 17, "3F", "3F", 3),
        34: Place(34, "floor", 25, "1F", "1F", 1),
        35: Place(35, "room", 26, "301", "ICU"),
        43: Place(43, "room", 34, "101", "サーバ室"),
    }
    assets = {
        1: Asset(1, "NW-1", "Access SW 3F", "network_device", network_role="switch", room=35),
        2: Asset(2, "NW-2", "Edge FW", "network_device", network_role="firewall", room=43),
        3: Asset(3, "SV-1", "ESXi-01", "server", hostname="esx01.hosp.local", room=43),
        4: Asset(4, "SV-2", "PACS DB", "server", is_virtual=True, host=3, hostname="pacsdb01"),
    }
    interfaces = {1: Interface(1, 1, "Gi1/0/1"), 2: Interface(2, 2, "port1")}
    ips = {1: IP(1, 2, "10.1.0.1", 1)}
    cables = {}
    for i in range(endpoints):
        aid, iid = 100 + i, 100 + i
        assets[aid] = Asset(
            aid,
            f"ME-{i:04}",
            f"輸液ポンプ {i}",
            "medical_device",
            manufacturer="Terumo",
            model="TE-171",
            serial=f"SN{i:06}",
            room=35,
            department="ICU",
        )
        interfaces[iid] = Interface(
            iid, aid, "eth0", mac=f"00:1a:2b:00:{i // 256:02x}:{i % 256:02x}"
        )
        ips[iid] = IP(iid, iid, f"10.1.{i // 250}.{i % 250 + 2}", 1)
        cables[iid] = Cable(iid, iid, 1)
    return Snapshot(
        places=places,
        assets=assets,
        interfaces=interfaces,
        ips=ips,
        cables=cables,
        subnets={1: Subnet(1, "10.1.0.0/16", "ICU", zone=1)},
        zones={1: Zone(1, "医療機器")},
        connections={
            1: Connection(
                1,
                "Terumo remote",
                "remote_maintenance",
                "Terumo",
                "ipsec_vpn",
                "203.0.113.7",
                (2,),
                (100,),
            )
        },
        flows={i: Flow(i, 100 + i, 4, "HL7", 2575) for i in range(endpoints)},
    )


def test_it_escapes_hostile_names_so_dot_stays_valid() -> None:
    snap = hospital(1)
    evil = 'ICU" shape=none URL="javascript:alert(1)" \\'
    snap.assets[100] = Asset(100, "ME-0000", evil + "\nline2", "medical_device", room=35)
    text = dot.network(snap)
    svg = render(text, "svg").decode()
    assert not re.search(r'href="javascript', svg)
    assert all(h.startswith("/assets/") for h in re.findall(r'xlink:href="([^"]*)"', svg))
    assert "ICU&quot; shape=none" in svg  # shown as text, not read as an attribute


def test_it_collapses_a_large_network_into_counts_and_expands_on_request() -> None:
    snap = hospital(500)
    collapsed = dot.network(snap)
    assert "500 endpoints" in collapsed
    assert '"a150"' not in collapsed
    expanded = dot.network(snap, dot.Options(expand=frozenset({1})))
    assert '"a150"' in expanded and "500 endpoints" not in expanded
    small = dot.network(hospital(4))
    assert '"a100"' in small


def test_redacted_diagrams_carry_no_addresses_serials_or_hostnames() -> None:
    snap = hospital(20)
    secrets = ["10.1.0.", "00:1a:2b", "SN0000", "esx01.hosp.local", "pacsdb01", "203.0.113.7"]
    for kind, draw in dot.KINDS.items():
        text = draw(snap, dot.Options(redact=True, collapse=False))
        svg = render(text, "svg").decode()
        for secret in secrets:
            assert secret not in svg, (kind, secret)
    plain = dot.network(snap, dot.Options(collapse=False)) + dot.servers(snap)
    assert "10.1.0.2" in plain and "esx01.hosp.local" in plain


def test_physical_diagram_nests_places_and_names_ports() -> None:
    text = dot.physical(hospital(2))
    assert text.index('"cluster_p8"') < text.index('"cluster_p17"') < text.index('"cluster_p35"')
    assert 'headlabel="Gi1/0/1"' in text and 'taillabel="eth0"' in text


def test_server_diagram_draws_guests_inside_their_host() -> None:
    text = dot.servers(hospital(0))
    host_cluster = text[text.index('"cluster_host3"') :]
    assert host_cluster.index('"a4"') < host_cluster.index("}")


def test_system_diagram_groups_same_model_devices_and_labels_flows() -> None:
    text = dot.system(hospital(5))
    assert "Terumo TE-171\\n×5" in text
    assert 'label="HL7 2575"' in text
    assert text.count('label="HL7 2575"') == 1


def test_filters_keep_one_building() -> None:
    snap = hospital(3)
    east = Filters(building=25).apply(snap)
    assert set(east.assets) == {2, 3}


def test_diff_names_exactly_what_changed() -> None:
    old = hospital(3)
    new_assets = dict(old.assets)
    new_assets[100] = (
        Asset(**{**old.assets[100].__dict__, "room": 43})
        if hasattr(old.assets[100], "__dict__")
        else old.assets[100]
    )

    new_assets[100] = replace(old.assets[100], room=43)
    del new_assets[1]  # the switch goes, and its cables with it
    new = replace(
        old,
        assets=new_assets,
        interfaces={k: v for k, v in old.interfaces.items() if v.asset != 1},
        cables={},
        connections={1: replace(old.connections[1], through=(2, 3))},
    )
    changes = diff.diff(old, new)
    summary = {(c.action, c.kind, c.label) for c in changes}
    assert summary == {
        ("changed", "asset", "輸液ポンプ 0 (ME-0000)"),
        ("removed", "asset", "Access SW 3F (NW-1)"),
        ("changed", "connection", "Terumo remote"),
    }
    moved = next(c for c in changes if c.kind == "asset" and c.action == "changed")
    assert moved.details == ("room: 本館 › 3F › 301 ICU → 東館 › 1F › 101 サーバ室",)
    marks = diff.marks(changes, old, new)
    assert marks["a1"] == "removed" and marks["cable100"] == "removed"
    drawn = dot.physical(diff.merged(old, new), dot.Options(marks=marks))
    assert '"a1"' in drawn and "#b91c1c" in drawn


@pytest.mark.parametrize("fmt,magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_it_renders_every_format(fmt: str, magic: bytes) -> None:
    assert render(dot.network(hospital(3)), fmt).startswith(magic)


def test_a_layout_graphviz_cannot_do_falls_back_to_a_plainer_one(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from medshield.diagrams import render as rendering

    calls: list[str] = []
    real = rendering._pipe

    def flaky(dot: str, fmt: str, renderer: str | None) -> bytes:
        calls.append(dot)
        if "lhead=" in dot:
            raise rendering.RenderError("Error: trouble in init_rank")
        return real(dot, fmt, renderer)

    monkeypatch.setattr(rendering, "_pipe", flaky)
    svg = rendering.render(dot.network(hospital(3)), "svg")
    assert svg.startswith(b"<?xml") and len(calls) == 2
    assert "lhead=" not in calls[1] and 'newrank="true"' not in calls[1]


def test_a_layout_that_runs_too_long_is_stopped_with_advice(settings) -> None:  # type: ignore[no-untyped-def]
    from medshield.diagrams.render import RenderError

    settings.DIAGRAM_TIMEOUT = 0.001
    with pytest.raises(RenderError, match="took longer than"):
        render(dot.network(hospital(300), dot.Options(collapse=False)), "svg")
