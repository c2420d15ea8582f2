"""The NVD importer's fast path stores exactly what the model (ORM) path would store."""

from __future__ import annotations

import io
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


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_the_reader_finds_every_record_whatever_the_read_size(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    from medshield.vulns.importers import nvd

    monkeypatch.setattr(nvd, "_CHUNK", chunk)
    records = [
        {"id": f"CVE-2030-{n:05d}", "n": 12345 + n, "t": "caf\u00e9 \u6f22"} for n in range(5)
    ]
    body = {"resultsPerPage": 5, "vulnerabilities": [{"cve": r} for r in records], "after": 1.5}
    for text in (json.dumps(body), json.dumps(body, indent=2, ensure_ascii=False)):
        reader = nvd._JSONStream(io.BytesIO(text.encode()))
        assert [item["cve"] for item in nvd._items(reader)] == records
        assert reader.peek() == ""


@pytest.mark.parametrize(
    "text",
    [
        '{"vulnerabilities": [{"cve": {"id": "CVE-2030-00001"}}',
        '{"vulnerabilities": [{"cve": {"id": "CVE-2030-00001"}} {"cve": {}}]}',
        '{"vulnerabilities": []} trailing',
        '{"vulnerabilities": [{"cve": {"id": "CVE-2030-00001", "n": 12',
    ],
)
def test_the_reader_refuses_malformed_json(text: str) -> None:
    from medshield.vulns.importers import nvd

    with pytest.raises(nvd._Malformed):
        reader = nvd._JSONStream(io.BytesIO(text.encode()))
        list(nvd._items(reader))
        if reader.peek():
            raise nvd._Malformed("trailing")


@pytest.mark.parametrize("text", ["-12.5e+3", "[1, -12.5e+3]", '{"a": 123456}'])
def test_a_number_cut_by_a_read_is_read_whole(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    from medshield.vulns.importers import nvd

    monkeypatch.setattr(nvd, "_CHUNK", 1)
    for tail in ("", " ", "\n"):
        reader = nvd._JSONStream(io.BytesIO((text + tail).encode()))
        assert reader.value() == json.loads(text)
        assert reader.peek() == ""


def test_an_error_early_in_a_large_file_is_refused_without_reading_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from medshield.vulns.importers import nvd

    monkeypatch.setattr(nvd, "_CHUNK", 4096)
    good = ", ".join(json.dumps({"cve": {"id": f"CVE-2030-{n:05d}"}}) for n in range(5000))
    data = ('{"vulnerabilities": [{"cve": {"id": x}}, ' + good + "]}").encode()
    stream = io.BytesIO(data)
    with pytest.raises(nvd._Malformed, match="Expecting value"):
        list(nvd._items(nvd._JSONStream(stream)))
    assert stream.tell() < 10_000 < len(data)
