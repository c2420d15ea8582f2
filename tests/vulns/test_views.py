"""The feed status page and the vulnerability page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from medshield.vulns.importers import import_path
from medshield.vulns.models import Vulnerability
from tests.conftest import CORPUS

pytestmark = pytest.mark.django_db


def test_it_requires_login(client) -> None:  # type: ignore[no-untyped-def]
    for url in (reverse("feed-status"), reverse("vulnerability-detail", args=["CVE-2022-2119"])):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response["Location"]


def test_status_page_shows_each_source(engineer_client, epss_file: Path) -> None:  # type: ignore[no-untyped-def]
    import_path(str(CORPUS / "nvd/cve-records/CVE-2022-2119.json"), user_name="tester")
    import_path(str(epss_file))
    response = engineer_client.get(reverse("feed-status"))
    assert response.status_code == 200
    html = response.content.decode()
    for kind in ("nvd", "jvn", "csaf", "kev", "epss"):
        assert f'data-kind="{kind}"' in html
    assert "CVE-2022-2119.json" in html
    assert "tester" in html


def test_vulnerability_page_shows_scores_sources_and_products(
    engineer_client, epss_file: Path
) -> None:  # type: ignore[no-untyped-def]
    for name in (
        "nvd/cve-records/CVE-2022-2119.json",
        "csaf/cisa-icsma/icsma-22-174-01.json",
    ):
        import_path(str(CORPUS / name))
    import_path(str(epss_file))
    response = engineer_client.get(reverse("vulnerability-detail", args=["CVE-2022-2119"]))
    assert response.status_code == 200
    html = response.content.decode()
    vuln = Vulnerability.objects.get(vuln_id="CVE-2022-2119")
    assert vuln.score_source == "nvd"
    assert vuln.cvss3_vector in html
    assert "ICSMA-22-174-01" in html
    assert "cpe:2.3:a:offis:dcmtk" in html
    assert "0.0019" in html
    assert "影響あり" in html  # the status label in Japanese, the default language
    assert "影響を受ける製品" in html


def test_vulnerability_page_in_english(engineer_client) -> None:  # type: ignore[no-untyped-def]
    import_path(str(CORPUS / "csaf/cisa-icsma/icsma-22-174-01.json"))
    engineer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = engineer_client.get(
        reverse("vulnerability-detail", args=["CVE-2022-2119"])
    ).content.decode()
    assert "Known affected" in html
    assert "Affected products" in html


def test_vulnerability_page_shows_the_japanese_title_and_kev(
    engineer_client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import_path(str(CORPUS / "jvn/myjvn-hnd-3.2/getVulnDetailInfo_hnd_JVNDB-2022-000097.xml"))
    response = engineer_client.get(reverse("vulnerability-detail", args=["CVE-2022-41993"]))
    html = response.content.decode()
    assert 'id="title-ja"' in html
    assert "電子入札コアシステムにおける複数の脆弱性" in html
    assert "v6 R4 およびそれ以前のバージョン" in html
    assert "cpe:/a:jacic:electronic_bidding_core_system" in html

    import_path(str(CORPUS / "nvd/api-2.0-responses/CVE-2021-26855.json"))
    import_path(str(CORPUS / "kev/known_exploited_vulnerabilities.json"))
    html = engineer_client.get(
        reverse("vulnerability-detail", args=["CVE-2021-26855"])
    ).content.decode()
    assert 'id="kev-badge"' in html


def test_an_unknown_vulnerability_is_404(engineer_client) -> None:  # type: ignore[no-untyped-def]
    assert (
        engineer_client.get(reverse("vulnerability-detail", args=["CVE-1999-0001"])).status_code
        == 404
    )


def test_vulnerability_page_shows_the_nvd_configurations(engineer_client) -> None:  # type: ignore[no-untyped-def]
    """Firmware in a range, running on the named hardware: AND of two nodes, bounds shown."""
    import_path(str(CORPUS / "nvd/cve-records/CVE-2020-12040.json"))
    engineer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = engineer_client.get(
        reverse("vulnerability-detail", args=["CVE-2020-12040"])
    ).content.decode()
    assert "all nodes (AND)" in html
    assert "cpe:2.3:o:baxter:sigma_spectrum_infusion_system_firmware:*" in html
    assert "≥ 6.0" in html and "≤ 6.05" in html
    assert html.count(">platform</span>") == 1  # the hardware, not vulnerable itself
