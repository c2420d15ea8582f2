"""An asset's page: fields, place, interfaces and cabling, guests, connections and history."""

from __future__ import annotations

from django.urls import reverse

from medshield.assets.models import Asset
from medshield.network.models import Interface


def test_it_shows_the_asset_with_its_place_and_network(engineer_client, hospital, english) -> None:
    response = engineer_client.get(reverse("asset-detail", args=["ME-000101"]))
    assert response.status_code == 200
    body = response.content.decode()
    for text in (
        "輸液ポンプ ICU-1",
        "中央病院",
        "本館",
        "3F",
        "301 ICU",
        "00:1a:2b:3c:4d:5e",
        "10.1.20.15",
        "10.1.20.0/24",
        "120 ME",
        "医療機器ゾーン",
        "Gi1/0/7",
        "P-0307",
        "テルモ リモート保守",
        "Life-sustaining",
    ):
        assert text in body, text
    assert hospital.switch.get_absolute_url() in body


def test_it_shows_the_device_plugged_into_a_switch_port(engineer_client, hospital) -> None:
    body = engineer_client.get(reverse("asset-detail", args=["NW-000001"])).content.decode()
    assert hospital.pump.get_absolute_url() in body
    assert "eth0" in body


def test_it_shows_guests_and_host(engineer_client, hospital) -> None:
    host_page = engineer_client.get(reverse("asset-detail", args=["SV-000001"])).content.decode()
    assert "PACS サーバ" in host_page
    guest_page = engineer_client.get(reverse("asset-detail", args=["SV-000002"])).content.decode()
    assert hospital.host.get_absolute_url() in guest_page


def test_it_shows_the_history_of_the_asset_and_its_interfaces(
    engineer_client, hospital, english
) -> None:
    pump = Asset.objects.get(asset_tag="ME-000101")
    pump.software_version = "2.2.0"
    pump.save()
    nic = Interface.objects.get(asset=pump, name="eth0")
    nic.name = "lan0"
    nic.save()
    response = engineer_client.get(reverse("asset-detail", args=["ME-000101"]))
    history = response.context["history"]
    # Newest first: the interface rename, the version change, then the creations.
    assert history[0].is_related and history[0].rows == [("name", "eth0", "lan0")]
    assert not history[1].is_related
    assert history[1].rows == [("software/firmware version", "2.1.0", "2.2.0")]
    body = response.content.decode()
    assert '<span class="history-old">2.1.0</span> → <span class="history-new">2.2.0</span>' in body
    assert "Updated" in body


def test_it_shows_choice_labels_in_the_history(engineer_client, hospital, english) -> None:
    pump = Asset.objects.get(asset_tag="ME-000101")
    pump.status = "stored"
    pump.save()
    history = engineer_client.get(reverse("asset-detail", args=["ME-000101"])).context["history"]
    assert history[0].rows == [("status", "In service", "In storage")]


def test_it_answers_404_for_an_unknown_tag(engineer_client, db) -> None:
    assert engineer_client.get(reverse("asset-detail", args=["XX-1"])).status_code == 404


def test_its_query_count_is_bounded(
    engineer_client, hospital, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(14):
        engineer_client.get(reverse("asset-detail", args=["ME-000101"]))


def test_it_lists_the_assets_data_flows(engineer_client, hospital) -> None:  # type: ignore[no-untyped-def]
    from medshield.network.models import Flow

    Flow.objects.create(
        source=hospital.pump, destination=hospital.pacs, protocol="HL7", port=2575,
        purpose="投与記録",
    )  # fmt: skip
    body = engineer_client.get(hospital.pump.get_absolute_url()).content.decode()
    flows = body[body.index('id="flows"') :]
    assert "HL7" in flows and "2575/tcp" in flows and "投与記録" in flows
    assert hospital.pacs.get_absolute_url() in flows
