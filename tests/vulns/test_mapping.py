"""What each importer keeps: the fields the matching engine and the pages rely on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from medshield.vulns.importers import import_path
from medshield.vulns.models import Advisory, AdvisoryProduct, ProductStatus, Vulnerability
from tests.conftest import CORPUS
from tests.vulns.conftest import nvd_entries

pytestmark = pytest.mark.django_db


def test_nvd_keeps_scores_cwes_and_cna_statements() -> None:
    import_path(str(CORPUS / "nvd/cve-records/CVE-2022-36385.json"))
    vuln = Vulnerability.objects.get(vuln_id="CVE-2022-36385")
    assert (vuln.cvss3_score, vuln.cvss3_severity) == (Decimal("6.8"), "MEDIUM")
    assert vuln.cvss3_vector == "CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert vuln.score_source == "nvd"
    assert vuln.nvd_status == "Modified"
    assert vuln.cna_affected[0]["vendor"] == "Contec Health"
    assert vuln.cna_affected[0]["versions"] == [{"version": "All", "status": "affected"}]
    # Contec CMS8000: firmware "-" on hardware "-", both named by CPE.
    fields = ("config_and", "part", "vendor", "product", "version", "vulnerable")
    rows = {tuple(entry[f] for f in fields) for entry in nvd_entries(vuln)}
    assert rows == {
        (True, "o", "contechealth", "cms8000_firmware", "-", True),
        (True, "h", "contechealth", "cms8000", "-", False),
    }


def test_nvd_prefers_the_primary_score_and_skips_noinfo_cwes() -> None:
    import_path(str(CORPUS / "nvd/cve-records/CVE-2022-2119.json"))
    vuln = Vulnerability.objects.get(vuln_id="CVE-2022-2119")
    # NVD's own (Primary) 9.8 wins over the CNA's (Secondary) 7.5.
    assert vuln.cvss3_score == Decimal("9.8")
    assert all(c.startswith("CWE-") for c in vuln.cwes)
    (match,) = [e for e in nvd_entries(vuln) if e["product"] == "dcmtk"]
    assert (match["end"], match["end_incl"]) == ("3.6.7", False)


def test_nvd_skips_rejected_records(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "rejected.json"
    path.write_text(
        '{"vulnerabilities": [{"cve": {"id": "CVE-2024-9999", "vulnStatus": "Rejected", '
        '"lastModified": "2024-01-01T00:00:00.000"}}, {"cve": {"id": "CVE-2024-9998", '
        '"vulnStatus": "Analyzed", "lastModified": "2024-01-01T00:00:00.000"}}]}'
    )
    record = import_path(str(path))
    assert (record.created, record.refused) == (1, 1)
    assert "CVE-2024-9999: rejected" in record.notes
    assert not Vulnerability.objects.filter(vuln_id="CVE-2024-9999").exists()


def test_csaf_keeps_model_numbers_and_version_ranges() -> None:
    import_path(str(CORPUS / "csaf/cisa-other/icsa-24-284-08.json"))
    product = AdvisoryProduct.objects.get(product_id="CSAFPID-0001")
    assert product.helpers == {"model_numbers": ["J31032-K2017-H259"]}
    assert product.vendor == "Siemens"
    assert (product.version, product.version_is_range) == ("vers:all/>=V11.5.1|<V11.6.2", True)
    assert product.statuses.filter(status="known_affected").exists()


def test_csaf_keeps_relationships() -> None:
    import_path(str(CORPUS / "csaf/oasis-2.0-examples/rhsa-2022_0011.json"))
    product = AdvisoryProduct.objects.get(product_id="7Server-7.6.AUS:telnet-1:0.17-65.el7_6.src")
    assert product.relationship == "default_component_of"
    assert product.component_of == "telnet-1:0.17-65.el7_6.src"
    assert product.relates_to == "7Server-7.6.AUS"


def test_csaf_vex_keeps_the_impact_statement() -> None:
    import_path(str(CORPUS / "csaf/oasis-2.0-vex/2022-evd-uc-02-na-001.json"))
    statuses = ProductStatus.objects.filter(status="known_not_affected")
    assert statuses.count() == statuses.filter(product__vendor="Example Company").count() > 1
    assert all("not vulnerable" in s.impact for s in statuses)
    advisory = Advisory.objects.get()
    assert advisory.category == "csaf_vex"


def test_csaf_vex_keeps_flags_as_justifications() -> None:
    import_path(
        str(
            CORPUS
            / "csaf/oasis-2.0-testcases-profile/oasis_csaf_tc-csaf_2_0-2021-6-1-27-09-11.json"
        )
    )
    assert (
        ProductStatus.objects.filter(status="known_not_affected")
        .exclude(justification="", impact="")
        .exists()
    )


def test_jvn_rss_keeps_cpe_22_names_and_japanese_titles() -> None:
    import_path(str(CORPUS / "jvn/myjvn-hnd-3.2/getVulnOverviewList_hnd.xml"))
    advisory = Advisory.objects.get(advisory_id="JVNDB-2025-002953")
    assert advisory.category == "jvnrss"
    assert advisory.lang == "ja"
    assert "Sunshine Photo Cart" in advisory.title
    product = advisory.products.get()
    assert product.cpe == "cpe:/a:sunshinephotocart:sunshine_photo_cart"
    vuln = Vulnerability.objects.get(vuln_id="CVE-2025-31084")
    assert "デシリアライゼーション" in vuln.title_ja
    assert "JVNDB-2025-002953" in vuln.aliases
    assert vuln.score_source == "jvn"
    assert vuln.cvss3_score == Decimal("9.8")


def test_jvn_detail_replaces_the_overview_of_the_same_date(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """VULDEF is richer than JVNRSS: at the same date it wins, the reverse changes nothing."""
    vuldef = CORPUS / "jvn/myjvn-hnd-3.2/getVulnDetailInfo_hnd_JVNDB-2022-000097.xml"
    import_path(str(vuldef))
    advisory = Advisory.objects.get(advisory_id="JVNDB-2022-000097")
    assert advisory.category == "vuldef"
    assert advisory.vulnerabilities.count() == 3
    assert advisory.products.get().version == "v6 R4 およびそれ以前のバージョン"
    assert "JVN#96321933" in Vulnerability.objects.get(vuln_id="CVE-2022-41993").aliases
