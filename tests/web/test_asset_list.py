"""The asset list: search, filters, sorting, pagination, htmx fragments and query count."""

from __future__ import annotations

import pytest

from medshield.assets.choices import AssetKind
from medshield.assets.models import Asset

URL = "/assets/"


def tags(response) -> list[str]:
    return [asset.asset_tag for asset in response.context["page"].object_list]


def test_it_lists_assets_with_badges(engineer_client, hospital) -> None:
    response = engineer_client.get(URL)
    assert response.status_code == 200
    assert tags(response) == ["ME-000101", "ME-000102", "NW-000001", "SV-000001", "SV-000002"]
    body = response.content.decode()
    assert '<span class="badge text-bg-danger">生命維持</span>' in body or "text-bg-danger" in body
    assert "10.1.20.15" in body  # first IP of the pump


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("輸液", ["ME-000101"]),
        ("te-lm", ["ME-000101"]),
        ("SN-7781", ["ME-000101"]),
        ("pacs01", ["SV-000002"]),
        ("10.1.20.16", ["ME-000102"]),
        ("10.1.20.", ["ME-000101", "ME-000102"]),
        ("00-1A-2B-3C-4D-5E", ["ME-000101"]),
        ("4d:99", ["ME-000102"]),
        ("nothing-like-this", []),
    ],
)
def test_it_searches(engineer_client, hospital, query, expected) -> None:
    assert tags(engineer_client.get(URL, {"q": query})) == expected


def test_it_does_not_repeat_an_asset_with_several_matching_addresses(
    engineer_client, hospital
) -> None:
    from tests.web.conftest import add_interface

    add_interface(hospital.pump, "eth1", "", "10.1.20.115")
    # The pump has two addresses starting 10.1.20.1, the monitor one.
    assert tags(engineer_client.get(URL, {"q": "10.1.20.1"})) == ["ME-000101", "ME-000102"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "server"}, ["SV-000001", "SV-000002"]),
        ({"criticality": "diagnostic"}, ["ME-000102"]),
        ({"status": "stored"}, ["ME-000102"]),
        ({"department": "集中治療部"}, ["ME-000101"]),
        ({"kind": "medical_device", "status": "in_service"}, ["ME-000101"]),
    ],
)
def test_it_filters_by_columns(engineer_client, hospital, params, expected) -> None:
    assert tags(engineer_client.get(URL, params)) == expected


def test_it_filters_by_place_and_subnet(engineer_client, hospital) -> None:
    h = hospital
    assert tags(engineer_client.get(URL, {"building": h.annex.pk})) == ["NW-000001", "SV-000001"]
    assert tags(engineer_client.get(URL, {"floor": h.main_3f.pk})) == ["ME-000101", "ME-000102"]
    assert tags(engineer_client.get(URL, {"room": h.server_room.pk})) == [
        "NW-000001",
        "SV-000001",
    ]
    assert tags(engineer_client.get(URL, {"subnet": h.servers.pk})) == ["SV-000002"]


def test_it_ignores_invalid_filter_values(engineer_client, hospital) -> None:
    response = engineer_client.get(URL, {"building": "999999", "kind": "toaster", "q": "ICU"})
    assert response.status_code == 200
    assert tags(response) == ["ME-000101", "NW-000001"]


def test_it_offers_filter_choices_from_the_database(engineer_client, hospital) -> None:
    body = engineer_client.get(URL).content.decode()
    for text in ("本館", "別館 1F", "集中治療部", "循環器内科", "10.1.20.0/24"):
        assert text in body


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-tag", ["SV-000002", "SV-000001", "NW-000001", "ME-000102", "ME-000101"]),
        ("criticality", ["ME-000101", "ME-000102", "NW-000001", "SV-000001", "SV-000002"]),
        # descending reverses the tie-breaker too (one index serves both directions)
        ("-criticality", ["SV-000002", "SV-000001", "NW-000001", "ME-000102", "ME-000101"]),
        ("bogus", ["ME-000101", "ME-000102", "NW-000001", "SV-000001", "SV-000002"]),
    ],
)
def test_it_sorts_by_whitelisted_columns(engineer_client, hospital, sort, expected) -> None:
    assert tags(engineer_client.get(URL, {"sort": sort, "kind": ""})) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("name", ["SV-000002", "SV-000001"]), ("-name", ["SV-000001", "SV-000002"])],
)
def test_it_sorts_by_name(engineer_client, hospital, sort, expected) -> None:
    # "PACS サーバ" before "仮想基盤ホスト1": Latin sorts before kanji in every collation.
    assert tags(engineer_client.get(URL, {"sort": sort, "kind": "server"})) == expected


def test_it_sorts_by_place(engineer_client, hospital) -> None:
    # Unplaced assets (NULL room) sort first on SQLite and last on PostgreSQL; compare the rest.
    placed = [t for t in tags(engineer_client.get(URL, {"sort": "place"})) if t != "SV-000002"]
    assert placed == ["NW-000001", "SV-000001", "ME-000101", "ME-000102"]


def make_assets(count: int, start: int = 0) -> None:
    Asset.objects.bulk_create(
        Asset(asset_tag=f"PC-{i:06d}", name=f"端末 {i}", kind=AssetKind.PC)
        for i in range(start, start + count)
    )


def test_it_pages_by_fifty(engineer_client, db) -> None:
    make_assets(120)
    first = engineer_client.get(URL)
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].paginator.count == 120
    body = first.content.decode()
    assert "?page=3" in body
    last = engineer_client.get(URL, {"page": 3})
    assert tags(last)[0] == "PC-000100" and len(tags(last)) == 20
    assert engineer_client.get(URL, {"page": "abc"}).status_code == 200


def test_it_returns_only_the_table_to_htmx(engineer_client, hospital) -> None:
    response = engineer_client.get(URL, {"kind": "server"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="sort-input"' in body and 'hx-swap-oob="true"' in body
    assert "SV-000001" in body and "ME-000101" not in body
    assert "HX-Request" in response["Vary"]


def test_it_returns_the_whole_page_for_a_history_restore(engineer_client, hospital) -> None:
    response = engineer_client.get(
        URL, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


def test_it_links_sort_headers_with_the_current_filters(engineer_client, hospital) -> None:
    body = engineer_client.get(URL, {"kind": "server", "sort": "name", "page": 1}).content.decode()
    assert 'href="?kind=server&amp;sort=-name"' in body


def test_its_query_count_does_not_grow_with_the_number_of_assets(
    engineer_client, hospital, django_assert_max_num_queries
) -> None:
    # Every row needs its place, its first IP and badges; none of that may cost a query per row.
    from tests.web.conftest import add_interface

    def load() -> int:
        response = engineer_client.get(URL, {"sort": "place"})
        assert response.status_code == 200
        return len(response.context["page"].object_list)

    make_assets(2)
    with django_assert_max_num_queries(12) as small:
        assert load() == 7
    make_assets(60, start=100)
    for asset in Asset.objects.filter(asset_tag__startswith="PC-0001")[:40]:
        asset.room = hospital.icu
        asset.save()
        add_interface(asset, "eth0", "", f"10.1.20.{100 + int(asset.asset_tag[-2:])}")
    with django_assert_max_num_queries(12) as large:
        assert load() == 50
    assert len(large.captured_queries) == len(small.captured_queries)
