"""The place tree, the subnet list and the external connections."""

from __future__ import annotations

from django.urls import reverse

from medshield.assets.choices import AssetKind
from medshield.assets.models import Asset, Rack, Room


def test_it_counts_assets_at_every_level(engineer_client, hospital) -> None:
    response = engineer_client.get(reverse("place-tree"))
    assert response.status_code == 200
    (site,) = response.context["sites"]
    assert site.count == 4
    counts = {b.obj.name: b.count for b in site.children}
    assert counts == {"本館": 2, "別館": 2}
    annex = next(b for b in site.children if b.obj.name == "別館")
    (room,) = annex.children[0].children
    assert room.count == 2 and room.children[0].count == 2  # both stand in rack R01
    assert response.context["unplaced"] == 1
    assert f"/assets/?room={hospital.icu.pk}" in response.content.decode()


def test_its_query_count_does_not_grow_with_places(
    engineer_client, hospital, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(14) as small:
        engineer_client.get(reverse("place-tree"))
    for n in range(10):
        room = Room.objects.create(floor=hospital.main_3f, code=f"3{10 + n}", name="病室")
        Rack.objects.create(room=room, name="R1")
        Asset.objects.bulk_create(
            Asset(asset_tag=f"PC-{n}-{i}", name="PC", kind=AssetKind.PC, room=room)
            for i in range(3)
        )
    with django_assert_max_num_queries(14) as large:
        engineer_client.get(reverse("place-tree"))
    assert len(large.captured_queries) == len(small.captured_queries)


def test_it_lists_subnets_with_usage(engineer_client, hospital) -> None:
    response = engineer_client.get(reverse("subnet-list"))
    used = {s.prefix: s.used for s in response.context["subnets"]}
    assert used == {"10.1.20.0/24": 2, "10.9.0.0/24": 1}
    body = response.content.decode()
    assert f"/assets/?subnet={hospital.medical.pk}" in body
    assert "医療機器ゾーン" in body


def test_it_lists_external_connections(engineer_client, hospital, english) -> None:
    body = engineer_client.get(reverse("connection-list")).content.decode()
    assert "テルモ リモート保守" in body
    assert "Remote-maintenance line" in body
    assert hospital.pump.get_absolute_url() in body
    assert hospital.switch.get_absolute_url() in body
