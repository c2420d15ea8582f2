"""The SBOM pages: list and detail render, search and page, and require a login."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from medshield.assets.models import Asset
from medshield.sboms.importers import import_sbom
from tests.sboms.conftest import CYCLONEDX, MEDICAL

pytestmark = pytest.mark.django_db


def test_it_requires_a_login(client: Client) -> None:
    response = client.get(reverse("sbom-list"))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_list_shows_each_sbom_and_who_shares_it(
    engineer_client: Client, infusion_pumps: list[Asset]
) -> None:
    import_sbom(
        (MEDICAL / "narrow.sbom.json").read_bytes(), product=("Acme Medical", "IP-7", "2.1")
    )
    import_sbom((MEDICAL / "extended.sbom.json").read_bytes(), asset_tags=["ME-0003"])
    import_sbom((CYCLONEDX / "spec-testcases" / "1.6" / "valid-bom-1.6.xml").read_bytes())
    response = engineer_client.get(reverse("sbom-list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('href="/assets/ME-0001/"') == 1 and 'href="/assets/ME-0003/"' in html
    assert "Acme Medical IP-7 2.1" in html
    assert ">55<" in html and ">65<" in html


def test_the_detail_lists_components_and_assets(
    engineer_client: Client, infusion_pumps: list[Asset]
) -> None:
    sbom = import_sbom(
        (MEDICAL / "extended.sbom.json").read_bytes(), product=("Acme Medical", "IP-7", "2.1")
    ).sbom
    response = engineer_client.get(sbom.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/assets/ME-0001/"' in html and 'href="/assets/ME-0002/"' in html
    assert 'href="/assets/ME-0003/"' not in html
    assert "Qualcomm Atheros QCA9563" in html and "pkg:generic/qualcomm_atheros_qca9563" in html
    assert response.context["page"].paginator.count == 65
    assert len(response.context["page"]) == 50  # paginated

    found = engineer_client.get(sbom.get_absolute_url(), {"q": "qca9563"})
    assert [c.name for c in found.context["page"]] == ["Qualcomm Atheros QCA9563"]
    second = engineer_client.get(sbom.get_absolute_url(), {"page": 2})
    assert len(second.context["page"]) == 15


def test_an_sbom_with_vex_shows_its_statements(engineer_client: Client) -> None:
    path = CYCLONEDX / "spec-testcases" / "1.6" / "valid-vulnerability-1.6.json"
    sbom = import_sbom(path.read_bytes()).sbom
    html = engineer_client.get(sbom.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "VEX statements in this document" in html


def test_an_unknown_sbom_is_404(engineer_client: Client) -> None:
    assert engineer_client.get(reverse("sbom-detail", args=[999])).status_code == 404


def test_the_pages_speak_japanese_by_default(engineer_client: Client) -> None:
    sbom = import_sbom((MEDICAL / "narrow.sbom.json").read_bytes()).sbom
    ja = {"HTTP_ACCEPT_LANGUAGE": "ja"}
    assert "構成要素" in engineer_client.get(reverse("sbom-list"), **ja).content.decode()
    html = engineer_client.get(sbom.get_absolute_url(), **ja).content.decode()
    assert "この SBOM を共有する資産" in html
