"""Export and import give back the same register, in every format."""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from medshield.assets.models import Asset
from medshield.audit.guard import maintenance
from medshield.core.models import ObjectChange
from medshield.network.models import IPAddress, Subnet
from medshield.register.document import (
    export_document,
    import_document,
    read_register,
    write_csv,
    write_json,
    write_xlsx,
)
from medshield.register.vocabulary import ASSET_COLUMNS
from tests.register.conftest import csv_bytes, csv_rows, state

pytestmark = pytest.mark.django_db


def _wipe() -> None:
    """Empty the register (a fresh database, within the test's transaction)."""
    from medshield.assets.models import Building, Floor, Rack, Room, Site
    from medshield.network.models import VLAN, Cable, ExternalConnection, Interface, Zone

    for model in (ExternalConnection, Cable, IPAddress, Interface):
        model.objects.all().delete()
    Asset.objects.update(host=None)
    for model in (Asset, Subnet, VLAN, Zone, Rack, Room, Floor, Building, Site):
        model.objects.all().delete()
    # The history is append-only (medshield.audit.guard): emptying it is maintenance.
    with maintenance("test: a fresh database"):
        ObjectChange.objects.all().delete()


def test_it_imports_a_document_and_exports_it_unchanged(register_doc: dict[str, Any]) -> None:
    result = import_document(copy.deepcopy(register_doc))
    assert result.counts["assets"]["created"] == 7
    assert result.counts["cabling"]["created"] == 4
    assert export_document() == register_doc
    vm = Asset.objects.get(asset_tag="SV-0002")
    assert vm.host is not None and vm.host.asset_tag == "SV-0001"
    # narrowest subnet wins over the /16
    assert IPAddress.objects.get(address="10.1.10.21").subnet.prefix == "10.1.10.0/24"
    assert IPAddress.objects.get(address="203.0.113.2").subnet is None


def test_it_round_trips_json_byte_for_byte(loaded: dict[str, Any]) -> None:
    first = write_json(export_document())
    assert first.endswith(b"\n") and "中央病院".encode() in first
    before = ObjectChange.objects.count()
    result = import_document(read_register(first).document)
    assert (result.created, result.updated, result.deleted) == (0, 0, 0)
    assert ObjectChange.objects.count() == before
    assert write_json(export_document()) == first

    _wipe()
    import_document(read_register(first).document)
    assert write_json(export_document()) == first


def test_it_round_trips_xlsx(loaded: dict[str, Any]) -> None:
    first = write_json(export_document())
    workbook = write_xlsx(export_document())
    sheets = load_workbook(io.BytesIO(workbook), read_only=True).sheetnames
    assert sheets == [
        "assets",
        "places",
        "zones",
        "vlans",
        "subnets",
        "cabling",
        "external_connections",
        "flows",
    ]
    before = ObjectChange.objects.count()
    result = import_document(read_register(workbook).document)
    assert (result.created, result.updated, result.deleted) == (0, 0, 0)
    assert ObjectChange.objects.count() == before

    _wipe()
    parsed = read_register(workbook, filename="register.xlsx")
    assert parsed.format == "xlsx"
    import_document(parsed.document, source=parsed.source)
    assert write_json(export_document()) == first


def test_it_round_trips_csv_when_places_and_subnets_exist(loaded: dict[str, Any]) -> None:
    first = write_json(export_document())
    data = write_csv(export_document())
    rows = csv_rows(data)
    assert list(rows[0]) == list(ASSET_COLUMNS)
    # one row per interface, one for the asset without interfaces
    assert len(rows) == 1 + 1 + 2 + 5 + 1 + 1 + 1
    pc = next(r for r in rows if r["asset_tag"] == "PC-0001")
    assert pc["interface"] == "" and pc["room"] == "101"
    monitor = next(r for r in rows if r["asset_tag"] == "ME-000123")
    assert (monitor["switch"], monitor["switch_port"]) == ("NW-0042", "Gi1/0/12")
    assert monitor["ip_addresses"] == "10.1.10.21"

    before = ObjectChange.objects.count()
    result = import_document(read_register(data).document)
    assert (result.created, result.updated, result.deleted) == (0, 0, 0)
    assert ObjectChange.objects.count() == before

    # a register with places, zones, VLANs and subnets but no assets takes the CSV whole
    skeleton = {**loaded, "assets": [], "cabling": [], "external_connections": [], "flows": []}
    _wipe()
    import_document(skeleton)
    parsed = read_register(data, filename="assets.csv")
    import_document(parsed.document, source=parsed.source)
    again = export_document()
    assert again["assets"] == loaded["assets"]
    assert again["cabling"] == loaded["cabling"]
    rest = {k: loaded[k] for k in ("external_connections", "flows")}
    assert write_json({**again, **rest}) == first


def test_it_changes_nothing_on_a_second_import(loaded: dict[str, Any]) -> None:
    before = state()
    result = import_document(loaded)
    assert result.created == result.updated == result.deleted == 0
    assert result.counts["assets"]["unchanged"] == 7
    assert state() == before


def test_it_updates_one_field_with_one_history_row(loaded: dict[str, Any]) -> None:
    doc = copy.deepcopy(loaded)
    doc["assets"][0]["software_version"] = "02-10"
    before = ObjectChange.objects.count()
    result = import_document(doc)
    assert result.counts["assets"]["updated"] == 1
    assert result.created == 0 and result.updated == 1
    assert ObjectChange.objects.count() == before + 1
    change = ObjectChange.objects.order_by("-id").first()
    assert change is not None
    assert change.action == "update"
    assert change.object_repr == "Patient monitor ICU-1 (ME-000123)"
    assert change.changes == {"software_version": ["01-52", "02-10"]}
    expected = copy.deepcopy(loaded)
    expected["assets"][0]["software_version"] = "02-10"
    assert export_document() == expected


def test_it_attributes_history_to_the_actor(register_doc: dict[str, Any], engineer: Any) -> None:
    from medshield.core.actor import actor_for_user

    import_document(register_doc, actor=actor_for_user(engineer))
    names = set(ObjectChange.objects.values_list("user_name", flat=True))
    assert names == {"engineer"}
    created = ObjectChange.objects.get(action="create", object_repr="VM host (SV-0001)")
    assert created.changes["room"] == [None, "本館 B1 SV サーバ室"]


def test_it_replaces_the_interfaces_an_asset_lists(loaded: dict[str, Any]) -> None:
    doc = copy.deepcopy(loaded)
    vm = doc["assets"][6]
    vm["interfaces"] = [{"name": "eth1", "mac": "", "ip_addresses": ["10.1.20.12"]}]
    result = import_document(doc)
    assert result.counts["interfaces"]["created"] == 1
    assert result.counts["interfaces"]["deleted"] == 1
    assert result.counts["ip_addresses"]["deleted"] == 2
    tags = list(
        IPAddress.objects.filter(interface__asset__asset_tag="SV-0002").values_list(
            "interface__name", "address"
        )
    )
    assert tags == [("eth1", "10.1.20.12")]
    assert ObjectChange.objects.filter(action="delete").count() == 3  # eth0 and its 2 IPs


def test_it_reads_japanese_labels_and_booleans(loaded: dict[str, Any]) -> None:
    doc = {
        "assets": [
            {
                "asset_tag": "ME-9",
                "name": "人工呼吸器",
                "kind": "医療機器",
                "status": "稼働中",
                "criticality": "生命維持",
                "handles_patient_data": "○",
                "place": "本館/3F/301",
            }
        ]
    }
    with pytest.raises(Exception) as excinfo:
        import_document(doc)
    # 本館 is the building's name, not its code: places match on codes
    assert "unknown place" in str(excinfo.value)
    doc["assets"][0]["place"] = "A／3F＞301"
    import_document(doc)
    asset = Asset.objects.get(asset_tag="ME-9")
    assert (asset.kind, asset.status, asset.criticality) == (
        "medical_device",
        "in_service",
        "life_sustaining",
    )
    assert asset.handles_patient_data is True
    assert asset.room is not None and asset.room.code == "301"


def test_a_csv_of_the_whole_register_is_one_row_per_interface(loaded: dict[str, Any]) -> None:
    rows = csv_rows(write_csv(export_document()))
    rows[0]["notes"] = "edited"
    data = csv_bytes(rows)
    result = import_document(read_register(data).document)
    assert result.counts["assets"]["updated"] == 1
