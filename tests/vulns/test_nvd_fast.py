"""The NVD importer's fast paths store exactly what the model (ORM) would store.

Fast paths: the chunked msgspec reader (with its exact fallback), the forked parser process,
the flat multi-row INSERT of a first load and the per-record path for files that mix stored
and new records.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from django.db import connection

from medshield.matching.loaders import nvd_configurations, stored_nvd_configurations
from medshield.matching.names import name_hash
from medshield.vulns.importers import FeedRejected, helpers, import_path, nvd, nvd_read
from medshield.vulns.importers.base import ImportStats
from medshield.vulns.importers.nvd import _said
from medshield.vulns.models import CpeKey, NvdConfigurations, Vulnerability
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


def _applicability(vuln: Vulnerability) -> tuple[str | None, list[int]]:
    data = NvdConfigurations.objects.filter(vulnerability=vuln).values_list("data", flat=True)
    keys = CpeKey.objects.filter(vulnerability=vuln).values_list("key", flat=True)
    return data.first(), sorted(keys)


def _assert_stored_as_the_model_would(record: dict[str, Any]) -> None:
    """The stored row and configurations of ``record`` equal what the ORM makes of ``_said``."""
    fast = Vulnerability.objects.get(vuln_id=record["id"])
    said = _said(msgspec.convert(record, nvd_read.Cve), ImportStats())
    data, keys = said.pop("_configurations"), said.pop("_keys")
    orm = Vulnerability.objects.create(vuln_id="CVE-1999-0001", **said)
    if data is not None:
        NvdConfigurations.objects.create(vulnerability=orm, data=data)
    CpeKey.objects.bulk_create(CpeKey(vulnerability=orm, key=key) for key in keys)
    assert _row(fast) == _row(orm)
    assert _applicability(fast) == _applicability(orm)
    assert data is not None or record["id"] != "CVE-2020-12040"
    orm.delete()


def _all_matches() -> list[tuple[Any, ...]]:
    configs = NvdConfigurations.objects.order_by("vulnerability__vuln_id")
    keys = CpeKey.objects.order_by("vulnerability__vuln_id", "key")
    return [
        *configs.values_list("vulnerability__vuln_id", "data"),
        *keys.values_list("vulnerability__vuln_id", "key"),
    ]


def _records() -> list[dict[str, Any]]:
    return [json.loads((CORPUS / name).read_text()) for name in RECORDS]


def _write(path: Path, records: list[dict[str, Any]], indent: int | None = None) -> Path:
    body = {"format": "NVD_CVE", "vulnerabilities": [{"cve": r} for r in records]}
    path.write_text(json.dumps(body, indent=indent))
    return path


@pytest.mark.parametrize("name", RECORDS)
def test_a_new_record_is_stored_as_the_model_would_store_it(name: str) -> None:
    record = json.loads((CORPUS / name).read_text())
    import_path(str(CORPUS / name))
    _assert_stored_as_the_model_would(record)


def test_a_first_load_of_many_records_stores_what_the_model_would(tmp_path: Path) -> None:
    records = _records()
    stats = import_path(str(_write(tmp_path / "page.json", records, indent=2)))
    assert (stats.created, stats.updated, stats.unchanged) == (4, 0, 0)
    for record in records:
        _assert_stored_as_the_model_would(record)


def test_new_records_beside_stored_ones_are_stored_as_the_model_would(tmp_path: Path) -> None:
    """A file that mixes stored and new records takes the per-record path."""
    records = _records()
    import_path(str(CORPUS / RECORDS[0]))
    stats = import_path(str(_write(tmp_path / "page.json", records)))
    assert (stats.created, stats.updated, stats.unchanged) == (3, 0, 1)
    for record in records:
        _assert_stored_as_the_model_would(record)


def test_a_record_repeated_in_a_file_is_stored_once_as_its_last_version(tmp_path: Path) -> None:
    first = _records()[0]
    later = dict(first, lastModified="2030-01-01T00:00:00", descriptions=[])
    stats = import_path(str(_write(tmp_path / "twice.json", [first, later])))
    assert stats.created == 1
    assert Vulnerability.objects.get(vuln_id=first["id"]).description == ""


def test_a_record_repeated_in_a_file_keeps_its_latest_version(tmp_path: Path) -> None:
    """An older copy after it, or one as old, does not replace it (as between files)."""
    first = _records()[0]
    older = dict(first, lastModified="2001-01-01T00:00:00", descriptions=[])
    as_old = dict(first, descriptions=[])
    stats = import_path(str(_write(tmp_path / "thrice.json", [first, older, as_old])))
    assert stats.created == 1
    assert Vulnerability.objects.get(vuln_id=first["id"]).description


def test_the_forked_parser_stores_what_the_parser_in_process_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the parser process is used on SQLite only (see nvd._use_worker)")
    good = json.loads((CORPUS / "nvd/cve-records/CVE-2020-12040.json").read_text())
    records = [dict(good, id=f"CVE-2030-{n:05d}") for n in range(2500)]
    path = _write(tmp_path / "nvd.json", records)
    import_path(str(path))
    in_process = {
        "vulns": list(Vulnerability.objects.order_by("vuln_id").values_list()),
        "matches": _all_matches(),
    }
    Vulnerability.objects.all().delete()

    used = []
    real = nvd._parsed_in_worker

    def spy(*args: Any) -> Any:
        used.append(True)
        return real(*args)

    monkeypatch.setattr(nvd, "WORKER_MIN_BYTES", 0)
    monkeypatch.setattr(nvd, "_parsed_in_worker", spy)
    monkeypatch.setattr(helpers.threading, "active_count", lambda: 1)
    stats = import_path(str(path))
    assert used == [True]
    assert stats.created == 2500
    # Ids differ (new rows); everything else is the same.
    forked = {
        "vulns": list(Vulnerability.objects.order_by("vuln_id").values_list()),
        "matches": _all_matches(),
    }
    assert [v[1:] for v in forked["vulns"]] == [v[1:] for v in in_process["vulns"]]
    assert forked["matches"] == in_process["matches"]
    # Again: the lastModified that came through the pipe compares with the stored one.
    again = import_path(str(path))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2500)
    assert used == [True, True]


def test_a_refusal_in_the_forked_parser_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = json.loads((CORPUS / "nvd/cve-records/CVE-2020-12040.json").read_text())
    records = [dict(good, id=f"CVE-2030-{n:05d}") for n in range(2500)]
    records.append(dict(good, id="CVE-2030-99999", lastModified="yesterday"))
    monkeypatch.setattr(nvd, "WORKER_MIN_BYTES", 0)
    monkeypatch.setattr(helpers.threading, "active_count", lambda: 1)
    with pytest.raises(FeedRejected, match="CVE-2030-99999: 'lastModified' is missing"):
        import_path(str(_write(tmp_path / "nvd.json", records)))
    assert not Vulnerability.objects.exists()


@pytest.mark.parametrize("chunk", [64, 3000])
def test_small_pieces_and_nested_cve_keys_read_every_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Pieces cut by the ``}, {"cve":`` marker, and the exact fallback where it misleads."""
    monkeypatch.setattr(nvd_read, "CHUNK", chunk)
    good = json.loads((CORPUS / "nvd/cve-records/CVE-2022-2119.json").read_text())
    records = [dict(good, id=f"CVE-2030-{n:05d}") for n in range(40)]
    # An unknown field holding the marker text itself: a nested object with a "cve" key.
    records[7]["x"] = [{"a": 1}, {"cve": {"id": "CVE-2030-77777"}}]
    records[8]["descriptions"] = [{"lang": "en", "value": 'quote }, {"cve": here'}]
    stats = import_path(str(_write(tmp_path / "nvd.json", records, indent=1)))
    assert stats.created == 40
    assert set(Vulnerability.objects.values_list("vuln_id", flat=True)) == {
        r["id"] for r in records
    }
    assert Vulnerability.objects.get(vuln_id="CVE-2030-00008").description.startswith("quote")


def test_a_field_of_the_wrong_type_is_refused_naming_record_and_field(tmp_path: Path) -> None:
    good = json.loads((CORPUS / "nvd/cve-records/CVE-2022-2119.json").read_text())
    records = [dict(good, id=f"CVE-2030-{n:05d}") for n in range(5)]
    records[3]["configurations"] = {"nodes": []}
    with pytest.raises(FeedRejected, match=r"record 4: .*cve\.configurations"):
        import_path(str(_write(tmp_path / "nvd.json", records)))
    assert not Vulnerability.objects.exists()


def test_a_large_file_imports_in_several_batches(tmp_path: Path) -> None:
    good = json.loads((CORPUS / "nvd/cve-records/CVE-2020-12040.json").read_text())
    records = [{"cve": dict(good, id=f"CVE-2030-{n:05d}")} for n in range(4500)]
    path = tmp_path / "nvd.json"
    path.write_text(json.dumps({"format": "NVD_CVE", "vulnerabilities": records}))
    first = import_path(str(path))
    assert (first.created, first.updated, first.unchanged) == (4500, 0, 0)
    per_record = CpeKey.objects.filter(vulnerability__vuln_id="CVE-2030-00000").count()
    assert per_record > 0
    assert CpeKey.objects.count() == 4500 * per_record
    assert NvdConfigurations.objects.count() == 4500
    before = {
        "keys": list(CpeKey.objects.order_by("pk").values_list()),
        "configs": list(NvdConfigurations.objects.order_by("pk").values_list()),
    }
    again = import_path(str(path))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4500)
    # A re-import writes nothing: the same rows under the same ids.
    assert list(CpeKey.objects.order_by("pk").values_list()) == before["keys"]
    assert list(NvdConfigurations.objects.order_by("pk").values_list()) == before["configs"]


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_the_reader_finds_every_record_whatever_the_read_size(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(nvd_read, "CHUNK", chunk)
    records = [
        {"id": f"CVE-2030-{n:05d}", "n": 12345 + n, "t": "caf\u00e9 \u6f22"} for n in range(5)
    ]
    body = {"resultsPerPage": 5, "vulnerabilities": [{"cve": r} for r in records], "after": 1.5}
    for text in (json.dumps(body), json.dumps(body, indent=2, ensure_ascii=False)):
        reader = nvd_read.JSONStream(io.BytesIO(text.encode()))
        assert [item["cve"] for item in nvd_read._items(reader)] == records
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
    with pytest.raises(nvd_read.Malformed):
        reader = nvd_read.JSONStream(io.BytesIO(text.encode()))
        list(nvd_read._items(reader))
        if reader.peek():
            raise nvd_read.Malformed("trailing")


@pytest.mark.parametrize("text", ["-12.5e+3", "[1, -12.5e+3]", '{"a": 123456}'])
def test_a_number_cut_by_a_read_is_read_whole(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(nvd_read, "CHUNK", 1)
    for tail in ("", " ", "\n"):
        reader = nvd_read.JSONStream(io.BytesIO((text + tail).encode()))
        assert reader.value() == json.loads(text)
        assert reader.peek() == ""


def test_an_error_early_in_a_large_file_is_refused_without_reading_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(nvd_read, "CHUNK", 4096)
    good = ", ".join(json.dumps({"cve": {"id": f"CVE-2030-{n:05d}"}}) for n in range(5000))
    data = ('{"vulnerabilities": [{"cve": {"id": x}}, ' + good + "]}").encode()
    stream = io.BytesIO(data)
    with pytest.raises(nvd_read.Malformed, match="Expecting value"):
        list(nvd_read._items(nvd_read.JSONStream(stream)))
    assert stream.tell() < 10_000 < len(data)


def test_the_name_keys_are_those_of_the_vulnerable_entries() -> None:
    """CpeKey holds each record's distinct vulnerable vendor/product pairs, hashed, and no more."""
    for path in sorted((CORPUS / "nvd").glob("*/*.json")):
        import_path(str(path))
    assert NvdConfigurations.objects.count() >= 5
    for vuln in Vulnerability.objects.all():
        stored = NvdConfigurations.objects.filter(vulnerability=vuln).first()
        pairs = set()
        for config in json.loads(stored.data) if stored else []:
            for node in config["nodes"]:
                for match in node["cpeMatch"]:
                    if match.get("vulnerable", True):
                        pairs.add(tuple(match["criteria"].split(":")[3:5]))
        keys = list(CpeKey.objects.filter(vulnerability=vuln).values_list("key", flat=True))
        assert sorted(keys) == sorted({name_hash(vendor, product) for vendor, product in pairs})


def test_the_stored_configurations_are_the_rules_of_the_nvd_record() -> None:
    """What the matcher reads back from the database equals what it makes of the NVD JSON."""
    for name in RECORDS:
        record = json.loads((CORPUS / name).read_text())
        import_path(str(CORPUS / name))
        data = NvdConfigurations.objects.get(vulnerability__vuln_id=record["id"]).data
        expected = tuple(
            msgspec.structs.replace(rule, advisory=None) for rule in nvd_configurations(record)
        )
        assert stored_nvd_configurations(data) == expected


def test_entries_that_are_not_cpe_names_are_left_out_with_a_note(tmp_path: Path) -> None:
    record = json.loads((CORPUS / "nvd/cve-records/CVE-2020-12040.json").read_text())
    firmware, hardware = record["configurations"][0]["nodes"]
    firmware["operator"] = "or"
    firmware["cpeMatch"].append({"criteria": "cpe:/o:baxter:old_style", "vulnerable": True})
    hardware["cpeMatch"] = [{"criteria": "not a cpe", "vulnerable": False}]
    stats = import_path(str(_write(tmp_path / "nvd.json", [record])))
    assert "CVE-2020-12040: CPE match 'cpe:/o:baxter:old_style' is not a CPE 2.3 name" in (
        stats.notes
    )
    assert "'not a cpe'" in stats.notes
    data = json.loads(NvdConfigurations.objects.get().data)
    # The hardware node lost its only entry and is gone; the firmware node keeps its two.
    assert [len(node["cpeMatch"]) for node in data[0]["nodes"]] == [2]
    assert data[0]["nodes"][0].get("operator", "OR") == "OR"  # "or" written as NVD does
    assert CpeKey.objects.count() == 1
