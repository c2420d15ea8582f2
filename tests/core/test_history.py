"""Every change to a register object is kept: who, when, which field, old and new value."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from medshield.assets.models import Asset, Building, Floor, Room, Site
from medshield.core.actor import Actor, acting_as
from medshield.core.models import ObjectChange
from medshield.network.models import Interface

pytestmark = pytest.mark.django_db


@pytest.fixture
def rooms() -> tuple[Room, Room]:
    site = Site.objects.create(code="C", name="中央病院")
    building = Building.objects.create(site=site, code="MAIN", name="本館")
    floor = Floor.objects.create(building=building, name="3F", level=3)
    return (
        Room.objects.create(floor=floor, code="301", name="ICU"),
        Room.objects.create(floor=floor, code="302", name="HCU"),
    )


def history(obj: object) -> list[ObjectChange]:
    ct = ContentType.objects.get_for_model(obj)
    return list(ObjectChange.objects.filter(object_type=ct, object_id=obj.pk).order_by("id"))


def test_it_records_creation_with_the_actor(rooms: tuple[Room, Room]) -> None:
    with acting_as(Actor(user_id=None, name="cli:nurse")):
        asset = Asset.objects.create(asset_tag="ME-1", name="Monitor", kind="medical_device")
    [change] = history(asset)
    assert change.action == "create"
    assert change.user_name == "cli:nurse"
    assert change.changes["name"] == [None, "Monitor"]


def test_it_records_only_the_changed_fields_with_old_and_new(rooms: tuple[Room, Room]) -> None:
    asset = Asset.objects.create(
        asset_tag="ME-1", name="Monitor", kind="medical_device", room=rooms[0]
    )
    asset = Asset.objects.get(pk=asset.pk)
    asset.software_version = "2.0"
    asset.room = rooms[1]
    asset.save()
    change = history(asset)[-1]
    assert change.action == "update"
    assert change.changes == {
        "software_version": ["", "2.0"],
        "room": [str(rooms[0]), str(rooms[1])],
    }


def test_it_writes_nothing_when_nothing_changed(rooms: tuple[Room, Room]) -> None:
    asset = Asset.objects.create(asset_tag="ME-1", name="Monitor", kind="medical_device")
    Asset.objects.get(pk=asset.pk).save()
    assert len(history(asset)) == 1


def test_it_files_an_interface_change_under_its_asset(rooms: tuple[Room, Room]) -> None:
    asset = Asset.objects.create(asset_tag="ME-1", name="Monitor", kind="medical_device")
    interface = Interface.objects.create(asset=asset, name="eth0", mac="00:1a:2b:3c:4d:5e")
    interface.delete()
    related = ObjectChange.objects.filter(
        related_type=ContentType.objects.get_for_model(Asset), related_id=asset.pk
    ).order_by("id")
    assert [c.action for c in related] == ["create", "delete"]
    assert related[1].changes["mac"] == ["00:1a:2b:3c:4d:5e", None]


def test_it_keeps_the_raw_values_to_rebuild_the_past(rooms: tuple[Room, Room]) -> None:
    asset = Asset.objects.create(asset_tag="ME-1", name="Monitor", kind="medical_device")
    asset.room = rooms[1]
    asset.save()
    pk = asset.pk
    asset.delete()
    asset.pk = pk
    create, update, delete = history(asset)
    assert create.data["room"] is None
    assert update.data["room"] == rooms[1].pk and update.data["asset_tag"] == "ME-1"
    assert delete.data is None


def test_it_records_what_a_cascade_deletes(rooms: tuple[Room, Room]) -> None:
    switch = Asset.objects.create(
        asset_tag="NW-1", name="SW", kind="network_device", network_role="switch"
    )
    port = Interface.objects.create(asset=switch, name="Gi1/0/1")
    port_pk = port.pk
    switch.delete()
    port.pk = port_pk
    assert [c.action for c in history(port)] == ["create", "delete"]


def test_bulk_written_history_reads_back_like_saved_history(rooms: tuple[Room, Room]) -> None:
    from medshield.core.models import ChangeAction, change_record, insert_changes

    asset = Asset.objects.create(asset_tag="ME-1", name="モニタ", kind="medical_device")
    saved = history(asset)[0]
    with acting_as(Actor(user_id=None, name="import")):
        record = change_record(asset, ChangeAction.UPDATE, {"name": ["モニタ", 'Monitor "2"']})
    insert_changes([record])
    stored = history(asset)[-1]
    assert stored.changes == {"name": ["モニタ", 'Monitor "2"']}
    assert stored.data == saved.data and stored.user_name == "import"
    assert abs((stored.time - record.time).total_seconds()) < 1e-3


def test_partial_saves_and_reloads_keep_the_history_true(rooms: tuple[Room, Room]) -> None:
    asset = Asset.objects.create(asset_tag="ME-1", name="Pump", kind="medical_device")
    asset = Asset.objects.get(pk=asset.pk)
    asset.name = "Pump 2"
    asset.department = "ICU"
    asset.save(update_fields=["name"])
    assert history(asset)[-1].changes == {"name": ["Pump", "Pump 2"]}
    asset.save()  # now the department reaches the database, and the history says so
    assert history(asset)[-1].changes == {"department": ["", "ICU"]}

    Asset.objects.filter(pk=asset.pk).update(name="Renamed elsewhere")
    asset.refresh_from_db()
    asset.owner = "ME室"
    asset.save()
    assert history(asset)[-1].changes == {"owner": ["", "ME室"]}  # not the other user's rename
