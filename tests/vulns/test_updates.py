"""Re-importing changes nothing; a newer version of a record updates it; an older one does not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medshield.vulns.importers import import_path
from medshield.vulns.models import (
    Advisory,
    AdvisoryProduct,
    CpeKey,
    FeedImport,
    NvdConfigurations,
    ProductStatus,
    Vulnerability,
)
from tests.conftest import CORPUS
from tests.vulns.conftest import nvd_entries, snapshot, write_epss

pytestmark = pytest.mark.django_db

SAMPLES = [
    "nvd/api-2.0-responses/simple_search.json",
    "nvd/cve-records/CVE-2020-12040.json",
    "jvn/myjvn-hnd-3.2/getVulnDetailInfo_hnd_JVNDB-2022-000097.xml",
    "jvn/myjvn-hnd-3.2/getVulnOverviewList_hnd.xml",
    "csaf/cisa-icsma/icsma-20-254-01.json",
    "csaf/cisa-other/icsa-24-284-08.json",
    "csaf/oasis-2.0-vex/2022-evd-uc-02-na-001.json",
    "kev/known_exploited_vulnerabilities.json",
]
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)", re.IGNORECASE)


def _writes(queries: list[dict[str, str]]) -> list[str]:
    return [
        q["sql"] for q in queries if _WRITE.match(q["sql"]) and "vulns_feedimport" not in q["sql"]
    ]


@pytest.mark.parametrize("name", SAMPLES)
def test_it_changes_nothing_on_reimport(name: str) -> None:
    first = import_path(str(CORPUS / name))
    assert first.created >= 1
    before = snapshot(include_imports=False)
    with CaptureQueriesContext(connection) as queries:
        again = import_path(str(CORPUS / name))
    assert (again.created, again.updated) == (0, 0)
    assert again.unchanged == first.created
    assert _writes(queries.captured_queries) == []
    assert snapshot(include_imports=False) == before
    assert FeedImport.objects.count() == 2


def test_it_changes_nothing_on_epss_reimport(epss_file: Path) -> None:
    assert import_path(str(epss_file)).created == 2
    before = snapshot(include_imports=False)
    again = import_path(str(epss_file))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert snapshot(include_imports=False) == before


def test_it_updates_an_nvd_record_that_nvd_modified_later(tmp_path: Path) -> None:
    source = json.loads((CORPUS / "nvd/cve-records/CVE-2020-12040.json").read_text())
    import_path(str(CORPUS / "nvd/cve-records/CVE-2020-12040.json"))
    vuln = Vulnerability.objects.get(vuln_id="CVE-2020-12040")
    entries = nvd_entries(vuln)
    assert len(entries) == 3
    assert [(e["vulnerable"], e["part"]) for e in entries].count((False, "h")) == 1
    assert all(e["config_and"] for e in entries)
    keys_before = set(CpeKey.objects.filter(vulnerability=vuln).values_list("pk", "key"))
    assert len(keys_before) == 1  # one vulnerable vendor/product (the firmware)

    newer = dict(
        source,
        lastModified="2026-01-01T00:00:00.000",
        descriptions=[{"lang": "en", "value": "Updated description."}],
    )
    newer["configurations"][0]["nodes"][0]["cpeMatch"] = newer["configurations"][0]["nodes"][0][
        "cpeMatch"
    ][:1]
    path = tmp_path / "newer.json"
    path.write_text(json.dumps({"vulnerabilities": [{"cve": newer}]}))
    record = import_path(str(path))
    assert (record.created, record.updated, record.unchanged) == (0, 1, 0)
    vuln.refresh_from_db()
    assert vuln.description == "Updated description."
    entries = nvd_entries(vuln)
    assert len(entries) == 2
    (match,) = [e for e in entries if e["vulnerable"]]
    assert (match["start"], match["start_incl"], match["end"], match["end_incl"]) == (
        "6.0",
        True,
        "6.05",
        True,
    )
    # The configurations were replaced as a whole, with new key rows (the re-match mark).
    assert NvdConfigurations.objects.filter(vulnerability=vuln).count() == 1
    keys_after = set(CpeKey.objects.filter(vulnerability=vuln).values_list("pk", "key"))
    assert {key for _pk, key in keys_after} == {key for _pk, key in keys_before}
    assert min(pk for pk, _key in keys_after) > max(pk for pk, _key in keys_before)

    # The original, older record does not undo the update.
    older = import_path(str(CORPUS / "nvd/cve-records/CVE-2020-12040.json"))
    assert (older.updated, older.unchanged) == (0, 1)
    vuln.refresh_from_db()
    assert vuln.description == "Updated description."


def test_it_updates_a_csaf_advisory_with_a_newer_release(tmp_path: Path) -> None:
    name = "csaf/cisa-icsma/icsma-24-200-01.json"
    doc = json.loads((CORPUS / name).read_text())
    import_path(str(CORPUS / name))
    advisory = Advisory.objects.get(kind="csaf")
    products_before = AdvisoryProduct.objects.filter(advisory=advisory).count()

    doc["document"]["title"] = "Updated title"
    tracking = doc["document"]["tracking"]
    tracking["current_release_date"] = "2026-01-01T00:00:00.000000Z"
    tracking["version"] = "9"
    tracking["revision_history"].append(
        {"date": "2026-01-01T00:00:00.000000Z", "number": "9", "summary": "Update"}
    )
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(doc))
    record = import_path(str(path))
    assert (record.created, record.updated) == (0, 1)
    advisory.refresh_from_db()
    assert (advisory.title, advisory.version) == ("Updated title", "9")
    assert AdvisoryProduct.objects.filter(advisory=advisory).count() == products_before
    assert Advisory.objects.count() == 1

    older = import_path(str(CORPUS / name))
    assert (older.updated, older.unchanged) == (0, 1)
    advisory.refresh_from_db()
    assert advisory.title == "Updated title"


def test_it_updates_a_jvn_record_with_a_later_date(tmp_path: Path) -> None:
    name = "jvn/myjvn-hnd-3.2/getVulnDetailInfo_hnd_JVNDB-2022-000097.xml"
    xml = (CORPUS / name).read_text()
    import_path(str(CORPUS / name))
    newer = xml.replace(
        "電子入札コアシステムにおける複数の脆弱性</Title>", "改訂された題名</Title>"
    )
    newer = re.sub(
        r"<DateLastUpdated>[^<]+</DateLastUpdated>",
        "<DateLastUpdated>2026-01-01T00:00:00+09:00</DateLastUpdated>",
        newer,
    )
    path = tmp_path / "newer.xml"
    path.write_text(newer)
    record = import_path(str(path))
    assert (record.created, record.updated) == (0, 1)
    assert Advisory.objects.get(advisory_id="JVNDB-2022-000097").title == "改訂された題名"
    assert Vulnerability.objects.get(vuln_id="CVE-2022-41993").title_ja == "改訂された題名"


def test_it_updates_epss_with_a_later_score_date(tmp_path: Path, epss_file: Path) -> None:
    import_path(str(epss_file))
    later = write_epss(tmp_path / "later.csv", "2026-11-21", [("CVE-2022-2119", 0.5, 0.99)])
    record = import_path(str(later))
    assert (record.created, record.updated) == (0, 1)
    vuln = Vulnerability.objects.get(vuln_id="CVE-2022-2119")
    assert (vuln.epss_score, str(vuln.epss_date)) == (0.5, "2026-11-21")


def test_it_updates_kev_fields_when_the_catalog_changes(tmp_path: Path) -> None:
    catalog = json.loads((CORPUS / "kev/known_exploited_vulnerabilities.json").read_text())
    catalog["vulnerabilities"] = catalog["vulnerabilities"][:3]
    path = tmp_path / "kev.json"
    path.write_text(json.dumps(catalog))
    assert import_path(str(path)).created == 3
    catalog["vulnerabilities"][0]["dueDate"] = "2030-01-01"
    path.write_text(json.dumps(catalog))
    record = import_path(str(path))
    assert (record.updated, record.unchanged) == (1, 2)
    cve = catalog["vulnerabilities"][0]["cveID"]
    assert str(Vulnerability.objects.get(vuln_id=cve).kev_due_date) == "2030-01-01"


def test_it_merges_sources_on_one_vulnerability(epss_file: Path) -> None:
    """NVD, JVN, CSAF, KEV and EPSS all describe CVE-2022-2119 (DCMTK) or its neighbours."""
    import_path(str(CORPUS / "csaf/cisa-icsma/icsma-22-174-01.json"))
    vuln = Vulnerability.objects.get(vuln_id="CVE-2022-2119")
    assert vuln.score_source == "csaf"
    assert "ICSMA-22-174-01" in vuln.aliases
    import_path(str(CORPUS / "nvd/cve-records/CVE-2022-2119.json"))
    import_path(str(epss_file))
    vuln.refresh_from_db()
    assert vuln.score_source == "nvd"
    assert vuln.nvd_modified is not None
    assert vuln.epss_score == pytest.approx(0.0019)
    assert any(e["vendor"] == "offis" and e["product"] == "dcmtk" for e in nvd_entries(vuln))
    statuses = ProductStatus.objects.filter(entry__vulnerability=vuln)
    assert statuses.filter(status="known_affected").exists()
    # CSAF again changes nothing now that NVD owns the scores.
    assert import_path(str(CORPUS / "csaf/cisa-icsma/icsma-22-174-01.json")).unchanged == 1
    assert len(nvd_entries(vuln)) >= 1
