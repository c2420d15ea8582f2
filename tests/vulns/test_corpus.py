"""Every corpus file of the feed formats imports, or is refused with a reason, as it should."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from medshield.vulns.importers import FeedRejected, import_path
from medshield.vulns.models import FeedImport
from tests.conftest import CORPUS
from tests.vulns.conftest import snapshot

FOLDERS = ("nvd", "jvn", "csaf", "kev")

#: files that are not feeds (or not feeds of a format we read) → what the refusal must say
NOT_FEEDS = {
    "csaf/cisa-icsma/icsma-22-244-01.json.asc": "not a feed",
    "csaf/cisa-icsma/icsma-22-244-01.json.sha512": "not a feed",
    "csaf/cisa-provider/changes.csv": "not a feed",
    "csaf/cisa-provider/index.txt": "not a feed",
    "csaf/oasis-2.0-examples/example-01-feed-tlp-white.json": "ROLIE",
    "csaf/oasis-2.0-examples/example-01-provider-metadata.json": "provider metadata",
    "csaf/oasis-2.0-testcases-profile/README.md": "not a feed",
    "jvn/myjvn-hnd-3.2/getAlertList_hnd.xml": "without vulnerability records",
    "jvn/myjvn-hnd-3.2/getProductList_hnd.xml": "without vulnerability records",
    "jvn/myjvn-hnd-3.2/getVendorList_hnd.xml": "without vulnerability records",
    "jvn/myjvn-oka-4.0/dataFeed_jvndb_rss_oka.json": "feed=oka",
    "jvn/myjvn-oka-4.0/getVulnDetailInfo_oka_JVNDB-2022-000097.json": "feed=oka",
    "jvn/myjvn-oka-4.0/getVulnDetailInfo_oka_jvncsaf.json": "feed=oka",
    "jvn/myjvn-oka-4.0/getVulnOverviewList_oka.json": "feed=oka",
    "kev/known_exploited_vulnerabilities.csv": "KEV catalog as CSV",
    "kev/known_exploited_vulnerabilities_schema.json": "unknown kind",
}


def _files() -> list[str]:
    if not CORPUS.exists():
        return []
    return sorted(
        str(p.relative_to(CORPUS))
        for folder in FOLDERS
        for p in (CORPUS / folder).rglob("*")
        if p.is_file() and "/schema/" not in f"/{p.relative_to(CORPUS)}"
    )


def _expected_failure(name: str) -> str | None:
    """For an OASIS test document that must fail: the mandatory test its refusal names."""
    found = re.search(r"2021-(\d+(?:-\d+)*)-(\d\d)\.json$", name)
    if not found or int(found[2]) > 10:
        return None
    return ".".join(str(int(n)) for n in found[1].split("-"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", _files())
def test_it_imports_or_refuses_each_corpus_file(name: str) -> None:
    path = str(CORPUS / name)
    failing_test = _expected_failure(name)
    if name in NOT_FEEDS or failing_test:
        with pytest.raises(FeedRejected) as excinfo:
            import_path(path)
        message = str(excinfo.value)
        if failing_test:
            assert f"mandatory test {failing_test}:" in message
        else:
            assert NOT_FEEDS[name] in message
        assert snapshot() == {k: [] for k in snapshot()}
        return
    record = import_path(path)
    assert record.created >= 1
    assert record.updated == 0
    assert FeedImport.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_the_schema_files_too() -> None:
    for path in sorted((CORPUS / "csaf" / "schema").glob("*.json")) + sorted(
        (CORPUS / "jvn" / "schema").glob("*")
    ):
        with pytest.raises(FeedRejected):
            import_path(str(path))


def test_it_covers_the_whole_conformance_suite() -> None:
    names = [n for n in _files() if "testcases-profile" in n and n.endswith(".json")]
    assert len(names) == 24
    assert sum(1 for n in names if _expected_failure(n)) == 17


def test_every_corpus_path_in_the_expectations_exists() -> None:
    for name in NOT_FEEDS:
        assert Path(CORPUS / name).is_file(), name
