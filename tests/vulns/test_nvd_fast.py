"""The NVD importer's fast path stores exactly what the model (ORM) path would store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medshield.vulns.importers import import_path
from medshield.vulns.importers.base import ImportStats, parse_datetime
from medshield.vulns.importers.nvd import _merge, _said
from medshield.vulns.models import CpeMatch, Vulnerability
from tests.conftest import CORPUS

pytestmark = pytest.mark.django_db

RECORDS = [
    "nvd/cve-records/CVE-2020-12040.json",
    "nvd/cve-records/CVE-2022-2119.json",
    "nvd/cve-records/CVE-2022-36385.json",
    "nvd/cve-records/CVE-2023-30563.json",
]


def _row(vuln: Vulnerability) -> dict[str, Any]:
    values = Vulnerability.objects.filter(pk=vuln.pk).values().get()
    del values["id"], values["vuln_id"]
    return values


@pytest.mark.parametrize("name", RECORDS)
def test_a_new_record_is_stored_as_the_model_would_store_it(name: str) -> None:
    record = json.loads((CORPUS / name).read_text())
    import_path(str(CORPUS / name))
    fast = Vulnerability.objects.get(vuln_id=record["id"])
    said = _said(record, parse_datetime(record["lastModified"]), ImportStats())
    orm = Vulnerability.objects.create(vuln_id="CVE-1999-0001", **_merge(None, said))
    assert _row(fast) == _row(orm)
    assert CpeMatch.objects.filter(vulnerability=fast).count() == len(said["_matches"])


def test_a_large_file_imports_in_several_batches(tmp_path: Path) -> None:
    good = json.loads((CORPUS / "nvd/cve-records/CVE-2020-12040.json").read_text())
    records = [{"cve": dict(good, id=f"CVE-2030-{n:05d}")} for n in range(4500)]
    path = tmp_path / "nvd.json"
    path.write_text(json.dumps({"format": "NVD_CVE", "vulnerabilities": records}))
    first = import_path(str(path))
    assert (first.created, first.updated, first.unchanged) == (4500, 0, 0)
    per_record = CpeMatch.objects.filter(vulnerability__vuln_id="CVE-2030-00000").count()
    assert per_record > 0
    assert CpeMatch.objects.count() == 4500 * per_record
    again = import_path(str(path))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4500)
    assert CpeMatch.objects.count() == 4500 * per_record
