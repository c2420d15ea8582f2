"""The asset list sorts by place through a derived key that follows moves and renames."""

from __future__ import annotations

import pytest

from medshield.assets.models import Asset, Building, Floor, Room, Site
from medshield.core.models import ObjectChange

pytestmark = pytest.mark.django_db


def test_the_place_key_follows_moves_and_renames() -> None:
    site = Site.objects.create(code="C", name="中央病院")
    main = Building.objects.create(site=site, code="MAIN", name="本館")
    b1 = Floor.objects.create(building=main, name="B1", level=-1)
    f3 = Floor.objects.create(building=main, name="3F", level=3)
    server = Room.objects.create(floor=b1, code="001", name="サーバ室")
    icu = Room.objects.create(floor=f3, code="301", name="ICU")
    pump = Asset.objects.create(asset_tag="ME-1", name="Pump", kind="medical_device", room=icu)
    host = Asset.objects.create(asset_tag="SV-1", name="Host", kind="server", room=server)
    loose = Asset.objects.create(asset_tag="PC-1", name="PC", kind="pc")

    def order() -> list[str]:
        return list(
            Asset.objects.order_by("place_sort", "asset_tag").values_list("asset_tag", flat=True)
        )

    assert order() == ["PC-1", "SV-1", "ME-1"]  # unplaced, B1 before 3F
    history = ObjectChange.objects.count()
    f3.level = -2
    f3.save()
    assert order() == ["PC-1", "ME-1", "SV-1"]
    assert ObjectChange.objects.count() == history + 1  # the floor's change, not the key's
    pump = Asset.objects.get(pk=pump.pk)
    pump.room = None
    pump.save()
    loose = Asset.objects.get(pk=loose.pk)
    loose.room = server
    loose.save()
    assert order() == ["ME-1", "PC-1", "SV-1"]
    assert host.pk and "place_sort" not in ObjectChange.objects.last().changes


def test_the_place_key_follows_a_room_moved_to_another_floor() -> None:
    site = Site.objects.create(code="C", name="中央病院")
    main = Building.objects.create(site=site, code="MAIN", name="本館")
    f1 = Floor.objects.create(building=main, name="1F", level=1)
    f9 = Floor.objects.create(building=main, name="9F", level=9)
    room = Room.objects.create(floor=f1, code="101", name="外来")
    Asset.objects.create(asset_tag="ME-1", name="Pump", kind="medical_device", room=room)
    room.floor = f9
    room.save()
    assert Asset.objects.get().place_sort.split("\x1f")[2] == "1009"
