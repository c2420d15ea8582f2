"""The diagram pages: inline SVG with filters, downloads, and the diff since the last export."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from medshield.assets.models import Asset, Building
from medshield.diagrams.models import DiagramExport

from .test_history_diff import register  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.django_db


def test_it_requires_a_login(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get(reverse("diagram", args=["network"]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_each_diagram_page_shows_its_svg(engineer_client, register) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    for kind in ("network", "physical", "server", "system"):
        response = engineer_client.get(reverse("diagram", args=[kind]))
        assert response.status_code == 200
        body = response.content.decode()
        assert "<svg" in body and "<?xml" not in body, kind
    assert engineer_client.get(reverse("diagram", args=["nonsense"])).status_code == 404


def test_the_building_filter_narrows_the_diagram(engineer_client, register) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    main = Building.objects.get(code="MAIN")
    other = Building.objects.create(site=main.site, code="EAST", name="東館")
    url = reverse("diagram", args=["physical"])
    assert "輸液ポンプ" in engineer_client.get(url, {"building": main.pk}).content.decode()
    assert "輸液ポンプ" not in engineer_client.get(url, {"building": other.pk}).content.decode()
    bad = engineer_client.get(url, {"building": "999999"})
    assert bad.status_code == 200 and "<svg" not in bad.content.decode()


def test_downloads_are_recorded_and_offer_the_diff_since(engineer_client, register) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    for fmt, mime in (("svg", "image/svg+xml"), ("png", "image/png"), ("pdf", "application/pdf")):
        response = engineer_client.get(reverse("diagram-download", args=["network", fmt]))
        assert response.status_code == 200 and response["Content-Type"] == mime
    assert DiagramExport.objects.filter(kind="network").count() == 3
    assert DiagramExport.objects.first().user_name == "engineer"
    time.sleep(0.01)
    pump = Asset.objects.get(asset_tag="ME-1")
    pump.software_version = "9.9"
    pump.save()
    page = engineer_client.get(reverse("diagram", args=["network"])).content.decode()
    assert 'id="diff-since-export"' in page
    since = DiagramExport.objects.first().time
    diff = engineer_client.get(
        reverse("diagram-diff", args=["network"]), {"from": since.isoformat()}
    ).content.decode()
    assert "software_version: — → 9.9" in diff
    assert "<svg" in diff


def test_the_diff_page_names_a_bad_date(engineer_client, register) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    response = engineer_client.get(reverse("diagram-diff", args=["network"]), {"from": "yesterday"})
    assert response.status_code == 200
    body = response.content.decode()
    assert '<div class="alert alert-danger">yesterday' in body and "<svg" not in body
