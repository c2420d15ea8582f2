"""Prepared NVD records: `feeds bundle` reads NVD files into one SQLite member, `feeds import`
checks it and merges it, storing exactly what importing the files themselves stores."""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import example, given, settings
from hypothesis import strategies as st

from medshield.matching.names import NAME_KEY_SCHEME
from medshield.vulns.bundle import write_bundle
from medshield.vulns.importers import FeedRejected, nvd_prepared
from medshield.vulns.models import CpeKey, FeedImport, NvdConfigurations, Vulnerability
from tests.conftest import CORPUS
from tests.vulns.conftest import snapshot

NVD_FILES = sorted((CORPUS / "nvd").glob("*/*.json"))


def stored() -> dict[str, Any]:
    """What the NVD import stored, by CVE id (ids and import records left out)."""
    return {
        "vulnerabilities": {
            v.pop("vuln_id"): v
            for v in Vulnerability.objects.order_by("vuln_id").values()
            if v.pop("id")
        },
        "configurations": dict(
            NvdConfigurations.objects.values_list("vulnerability__vuln_id", "data")
        ),
        "keys": sorted(CpeKey.objects.values_list("vulnerability__vuln_id", "key")),
    }


def forget() -> None:
    CpeKey.objects.all().delete()
    NvdConfigurations.objects.all().delete()
    Vulnerability.objects.all().delete()
    FeedImport.objects.all().delete()


def bundle_of(tmp_path: Path, files: list[Path], name: str = "b.tar.zst") -> Path:
    out = tmp_path / name
    write_bundle(str(out), [str(f) for f in files])
    return out


#: the two ways a prepared file is merged: outside a transaction (on SQLite, SQLite copies the
#: attached file itself; on PostgreSQL, the NVD writer) and inside one (the writer, everywhere,
#: as SQLite attaches no file inside a transaction)
MERGES = [
    pytest.param(False, marks=pytest.mark.django_db(transaction=True), id="outside"),
    pytest.param(True, marks=pytest.mark.django_db, id="inside-a-transaction"),
]


@pytest.mark.parametrize("in_transaction", MERGES)
def test_a_bundle_stores_what_the_files_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], in_transaction: bool
) -> None:
    assert connection.in_atomic_block == in_transaction
    call_command("feeds_import", *map(str, NVD_FILES))
    from_files = stored()
    assert len(from_files["vulnerabilities"]) == 8
    assert from_files["keys"]
    forget()
    out = bundle_of(tmp_path, NVD_FILES)
    capsys.readouterr()
    call_command("feeds_import", str(out))
    assert f"{out}:nvd-prepared.sqlite3: nvd: 8 created" in capsys.readouterr().out
    assert stored() == from_files
    record = FeedImport.objects.get()
    assert (record.kind, record.file_name, record.created) == ("nvd", "nvd-prepared.sqlite3", 8)


@pytest.mark.django_db(transaction=True)
def test_a_first_load_leaves_the_schema_as_it_was(tmp_path: Path) -> None:
    """On SQLite the CPE key indexes are built after the rows of a first load: the same
    indexes come back, and the register's CHECK constraints are on again afterwards."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite merges the attached file only on SQLite")

    def schema() -> list[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master ORDER BY name")
            return cursor.fetchall()

    before = schema()
    call_command("feeds_import", str(bundle_of(tmp_path, NVD_FILES)))
    assert CpeKey.objects.exists()
    assert schema() == before
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA ignore_check_constraints")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_a_cve_repeated_keeps_the_same_version_as_the_files_do(tmp_path: Path) -> None:
    """Within a file and across files: the latest lastModified, the first of equal ones."""
    record = json.loads((CORPUS / "nvd/cve-records/CVE-2022-2119.json").read_text())
    copies = [
        dict(record, descriptions=[{"lang": "en", "value": text}], lastModified=when)
        for text, when in [
            ("first", "2024-01-01T00:00:00.000"),
            ("older", "2023-01-01T00:00:00.000"),
            ("as old", "2024-01-01T00:00:00.000"),
        ]
    ]
    files = []
    for name, entries in [("a.json", copies), ("b.json", [dict(copies[2], id=record["id"])])]:
        path = tmp_path / name
        body = {"format": "NVD_CVE", "vulnerabilities": [{"cve": c} for c in entries]}
        path.write_text(json.dumps(body))
        files.append(path)
    call_command("feeds_import", *map(str, files))
    from_files = stored()
    assert from_files["vulnerabilities"]["CVE-2022-2119"]["description"] == "first"
    forget()
    call_command("feeds_import", str(bundle_of(tmp_path, files)))
    assert stored() == from_files


def _later_version(tmp_path: Path) -> Path:
    """CVE-2022-2119 modified a day later: a new description, one range fewer."""
    record = json.loads((CORPUS / "nvd/cve-records/CVE-2022-2119.json").read_text())
    record["lastModified"] = "2030-01-01T00:00:00.000"
    record["descriptions"][0]["value"] = "A later description."
    nodes = record["configurations"][0]["nodes"]
    nodes[0]["cpeMatch"] = nodes[0]["cpeMatch"][:1]
    path = tmp_path / "later" / "CVE-2022-2119.json"
    path.parent.mkdir()
    path.write_text(json.dumps(record))
    return path


@pytest.mark.parametrize("in_transaction", MERGES)
def test_importing_again_changes_nothing_and_a_later_version_updates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], in_transaction: bool
) -> None:
    assert connection.in_atomic_block == in_transaction
    (tmp_path / "again").mkdir()
    out = bundle_of(tmp_path, NVD_FILES)
    call_command("feeds_import", str(out))
    before = snapshot(include_imports=False)
    capsys.readouterr()
    call_command("feeds_import", str(out))
    assert "0 created, 0 updated, 8 unchanged" in capsys.readouterr().out
    assert snapshot(include_imports=False) == before

    later = bundle_of(tmp_path, [_later_version(tmp_path)], "later.tar.zst")
    call_command("feeds_import", str(later))
    assert "0 created, 1 updated, 0 unchanged" in capsys.readouterr().out
    vuln = Vulnerability.objects.get(vuln_id="CVE-2022-2119")
    assert vuln.description == "A later description."
    # The same as importing the later file itself.
    forget()
    call_command("feeds_import", *map(str, NVD_FILES))
    call_command("feeds_import", str(_later_version(tmp_path / "again")))
    from_files = stored()
    forget()
    call_command("feeds_import", str(out))
    call_command("feeds_import", str(later))
    assert stored() == from_files


@pytest.mark.django_db
def test_feeds_bundle_raw_carries_the_files_as_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "raw.tar.zst"
    call_command("feeds_bundle", "--raw", str(out), str(NVD_FILES[0]))
    call_command("feeds_import", str(out))
    assert f"{out}:{NVD_FILES[0].name}: nvd: 1 created" in capsys.readouterr().out


# --- hostile prepared files ---------------------------------------------------------------------


def _prepared(tmp_path: Path) -> Path:
    path = tmp_path / "prepared.sqlite3"
    nvd_prepared.prepare([str(f) for f in NVD_FILES], str(path))
    return path


def _sql(*statements: str) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        db = sqlite3.connect(path)
        for statement in statements:
            db.execute(statement)
        db.commit()
        db.close()

    return change


def _bytes(offset: int, data: bytes) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        content = bytearray(path.read_bytes())
        at = offset if offset >= 0 else len(content) + offset
        content[at : at + len(data)] = data
        path.write_bytes(bytes(content))

    return change


def _damaged(path: Path) -> None:
    """Every page but the first (the schema) with a B-tree page type SQLite does not know."""
    content = bytearray(path.read_bytes())
    size = int.from_bytes(content[16:18], "big")
    for start in range(size, len(content), size):
        content[start] = 0x55
    path.write_bytes(bytes(content))


def _utf16(path: Path) -> None:
    """The same tables and rows in a file whose text encoding is UTF-16."""
    copy = path.with_suffix(".utf16")
    source, target = sqlite3.connect(path), sqlite3.connect(copy)
    target.execute("PRAGMA encoding = 'UTF-16le'")
    for (sql,) in source.execute("SELECT sql FROM sqlite_schema WHERE type = 'table'"):
        target.execute(sql)
    for table in ("meta", "record", "configuration", "cpe_key", "skipped", "note"):
        rows = source.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            target.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)  # noqa: S608
    target.commit()
    source.close()
    target.close()
    copy.replace(path)


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    "a trigger": (
        _sql("CREATE TRIGGER t AFTER INSERT ON note BEGIN DELETE FROM record; END"),
        "another schema",
    ),
    "a view": (_sql("CREATE VIEW v AS SELECT * FROM record"), "another schema"),
    "an index": (_sql("CREATE INDEX i ON record (vuln_id)"), "another schema"),
    "another column": (_sql("ALTER TABLE record ADD COLUMN x TEXT"), "another schema"),
    "not a CVE id": (_sql("UPDATE record SET vuln_id = 'X-1' WHERE n = 0"), "vuln_id"),
    "a date that is none": (
        _sql("UPDATE record SET published = '2023-02-30 00:00:00' WHERE n = 0"),
        "published",
    ),
    "a time with a zone": (
        _sql("UPDATE record SET modified = '2023-02-03 00:00:00+09:00' WHERE n = 0"),
        "modified",
    ),
    "a score out of range": (_sql("UPDATE record SET cvss3_score = 11 WHERE n = 0"), "cvss3"),
    "a status too long": (
        _sql("UPDATE record SET nvd_status = printf('%.40c', 'x') WHERE n = 0"),
        "nvd_status",
    ),
    "CWEs of numbers": (_sql("UPDATE record SET cwes = '[1, 2]' WHERE n = 0"), "cwes"),
    "CNA entries of another shape": (
        _sql("""UPDATE record SET cna_affected = '[{"vendor": 1}]' WHERE n = 0"""),
        "cna_affected",
    ),
    "configurations the matcher cannot read": (
        _sql("""UPDATE configuration SET data = '[{"nodes": 5}]'"""),
        "importer does not write",
    ),
    "configurations of bytes": (
        _sql("UPDATE configuration SET data = CAST(data AS BLOB)"),
        "importer does not write|of another type",
    ),
    "configurations of no record": (
        _sql("INSERT INTO configuration VALUES (9999, '[]')"),
        "of no record",
    ),
    "a key of text": (_sql("UPDATE cpe_key SET key = 'k'"), "of another type"),
    "keys of a record that is not there": (
        # A record between the first and the last removed, its configurations and keys left.
        _sql(
            "DELETE FROM record WHERE n = (SELECT min(n) FROM cpe_key WHERE n > "
            "(SELECT min(n) FROM record) AND n < (SELECT max(n) FROM record))",
            "UPDATE meta SET value = (SELECT count(*) FROM record) WHERE name = 'records'",
        ),
        "of no record",
    ),
    "no score source": (_sql("UPDATE record SET score_source = NULL WHERE n = 0"), "score_source"),
    "a NUL in a description": (
        _sql("UPDATE record SET description = description || char(0) WHERE n = 0"),
        "NUL",
    ),
    "a description that is not UTF-8": (
        _sql("UPDATE record SET description = CAST(X'41FF42' AS TEXT) WHERE n = 0"),
        "not UTF-8",
    ),
    "a CVE twice": (
        _sql(
            "INSERT INTO record SELECT 9999, vuln_id, description, published, modified, "
            "nvd_modified, nvd_status, cwes, cna_affected, cvss3_score, cvss3_vector, "
            "cvss3_severity, cvss4_score, cvss4_vector, cvss4_severity, score_source "
            "FROM record WHERE n = 0"
        ),
        "twice",
    ),
    "year zero": (
        _sql("UPDATE record SET published = '0000-01-01 00:00:00' WHERE n = 0"),
        "published",
    ),
    "a time with a letter": (
        _sql(
            "UPDATE record SET modified = '2024-01-02 03:04:06.12345z', "
            "nvd_modified = '2024-01-02 03:04:06.12345z' WHERE n = 0"
        ),
        "modified",
    ),
    "no modified date": (
        _sql("UPDATE record SET modified = NULL, nvd_modified = NULL WHERE n = 0"),
        "modified",
    ),
    "a NUL in a status": (
        _sql("UPDATE record SET nvd_status = 'Analyzed' || char(0) || printf('%.40c', 'x')"),
        "NUL",
    ),
    "a NUL in an id": (
        _sql("UPDATE record SET vuln_id = vuln_id || char(0) || '<b>' WHERE n = 0"),
        "NUL",
    ),
    "a status that is not UTF-8 beside a NULL score": (
        _sql("UPDATE record SET nvd_status = CAST(X'41FF42' AS TEXT), cvss4_score = NULL"),
        "not UTF-8",
    ),
    "scores without a source": (
        _sql("UPDATE record SET score_source = '' WHERE cvss3_score IS NOT NULL"),
        "score_source",
    ),
    "a huge record number": (
        _sql(f"UPDATE record SET n = {1 << 62} WHERE n = 0"),  # noqa: S608
        "value of n |of no record",
    ),
    "configurations naming their source": (
        _sql(
            """UPDATE configuration SET data = '[{"nodes":[{"cpeMatch":[{"criteria":"""
            """"cpe:2.3:a:x:y:*:*:*:*:*:*:*:*"}]}],"source":"VEX"}]'"""
        ),
        "importer does not write",
    ),
    "an empty configuration": (
        _sql("""UPDATE configuration SET data = '[{"operator":"AND"}]'"""),
        "importer does not write",
    ),
    "a UTF-16 file": (_utf16, "another schema"),
    "another key scheme": (
        _sql(f"UPDATE meta SET value = '{NAME_KEY_SCHEME + 1}' WHERE name = 'name_key_scheme'"),  # noqa: S608
        "computes CPE name keys differently",
    ),
    "another format": (_sql("UPDATE meta SET value = 'x' WHERE name = 'format'"), "version"),
    "an hour 24": (
        _sql(
            "UPDATE record SET modified = '2024-01-02 24:00:00', "
            "nvd_modified = '2024-01-02 24:00:00' WHERE n = 0"
        ),
        "modified",
    ),
    "a zero fraction": (
        _sql("UPDATE record SET published = '2024-01-02 03:04:05.000000' WHERE n = 0"),
        "published",
    ),
    "a vector too long": (
        _sql("UPDATE record SET cvss3_vector = printf('%.101c', 'x') WHERE n = 0"),
        "cvss3_vector",
    ),
    "a NUL in a vector": (
        _sql("UPDATE record SET cvss3_vector = 'CVSS:3.1' || char(0) WHERE n = 0"),
        "NUL",
    ),
    "a description of bytes": (
        _sql("UPDATE record SET description = X'4142' WHERE n = 0"),
        "description",
    ),
    "a score of text": (_sql("UPDATE record SET cvss3_score = 'nine' WHERE n = 0"), "cvss3"),
    "a CVE id with a letter at its end": (
        _sql("UPDATE record SET vuln_id = vuln_id || 'a' WHERE n = 0"),
        "vuln_id",
    ),
    "a CVE id of other digits": (
        _sql("UPDATE record SET vuln_id = 'CVE-2024-' || char(1633, 1634, 1635, 1636) WHERE n = 0"),
        "vuln_id",
    ),
    "CWE lists parted across records": (
        # Joined, the two make valid JSON of one item per record; each alone is not JSON.
        _sql(
            """UPDATE record SET cwes = '["CWE-1"],["CWE-2"' WHERE n = 0""",
            """UPDATE record SET cwes = '"CWE-3"]' WHERE n = 1""",
        ),
        "cwes",
    ),
    "not SQLite": (_bytes(0, b"PK\x03\x04"), "not a SQLite file"),
    "truncated": (_truncated, "refused"),
    "damaged pages": (_damaged, "damaged|malformed"),
}


def _refuses(tmp_path: Path, name: str, *, stored_before: bool = True) -> None:
    """Refused, and nothing stored. With ``stored_before`` one of the file's records is stored
    already, so SQLite merges through its plan; without, every record is new."""
    change, message = HOSTILE[name]
    if stored_before:
        call_command("feeds_import", str(NVD_FILES[0]))
    path = _prepared(tmp_path)
    change(path)
    before = snapshot()
    with pytest.raises(FeedRejected, match=message):
        nvd_prepared.import_prepared(str(path), file_name="p", sha256="0" * 64)
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_prepared_file_is_refused_and_nothing_stored(tmp_path: Path, name: str) -> None:
    _refuses(tmp_path, name)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    ["a trigger", "a date that is none", "damaged pages", "keys of a record that is not there"],
)
def test_a_hostile_prepared_file_is_refused_inside_a_transaction(tmp_path: Path, name: str) -> None:
    _refuses(tmp_path, name)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["keys of a record that is not there", "not a CVE id"])
def test_a_hostile_prepared_file_is_refused_on_a_first_load(tmp_path: Path, name: str) -> None:
    """Nothing stored yet: SQLite copies the records without a plan (and without the
    register's foreign keys), and the checks refuse keys of no record before the commit."""
    _refuses(tmp_path, name, stored_before=False)


@pytest.mark.django_db
def test_the_file_has_the_registers_page_size(tmp_path: Path) -> None:
    from django.conf import settings

    db = sqlite3.connect(_prepared(tmp_path))
    assert db.execute("PRAGMA page_size").fetchone()[0] == settings.SQLITE_PAGE_SIZE
    db.close()


@pytest.mark.django_db(transaction=True)
def test_the_file_is_read_with_its_schema_untrusted(tmp_path: Path) -> None:
    """The checking connection does not trust the file's schema: SQLite runs no function a
    view, trigger or default of the file names (before the schema check refuses those)."""
    path = _prepared(tmp_path)
    db = nvd_prepared._open_read_only(str(path))
    assert db.execute("PRAGMA trusted_schema").fetchone()[0] == 0
    db.close()


def test_the_schema_check_is_built_from_the_model() -> None:
    """Every Vulnerability field the NVD importer writes has a rule, so a new field cannot be
    merged unchecked."""
    checked = {column for column, _rule in nvd_prepared._column_rules()}
    checked |= {check.column for check in nvd_prepared._python_checks()}
    assert checked >= {"vuln_id", *nvd_prepared.nvd._ROW_FIELDS}


@pytest.mark.django_db(transaction=True)
def test_text_the_importer_keeps_is_merged_as_it_is(tmp_path: Path) -> None:
    """Values with a line break (which the quick checks of many values at once cannot tell
    apart) are checked one by one, and merged when they are right."""
    path = _prepared(tmp_path)
    vector = "CVSS:3.1/AV:N\nAC:L"
    _sql(
        f"UPDATE record SET cvss3_vector = '{vector}', nvd_status = 'Modified' || char(10) "  # noqa: S608
        "WHERE n = 0"
    )(path)
    nvd_prepared.import_prepared(str(path), file_name="p", sha256="0" * 64)
    db = sqlite3.connect(path)
    vuln_id = db.execute("SELECT vuln_id FROM record WHERE n = 0").fetchone()[0]
    db.close()
    stored = Vulnerability.objects.get(vuln_id=vuln_id)
    assert (stored.cvss3_vector, stored.nvd_status) == (vector, "Modified\n")


@pytest.mark.django_db(transaction=True)
def test_a_text_longer_than_the_importer_writes_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Texts of no set length are bounded by the whole chunk's text, then read one by one."""
    path = _prepared(tmp_path)
    db = sqlite3.connect(path)
    longest = db.execute("SELECT max(length(description)) FROM record").fetchone()[0]
    any_longest = db.execute(
        "SELECT max((SELECT max(length(data)) FROM configuration), "
        "max(length(description)), max(length(cwes)), max(length(cna_affected))) FROM record"
    ).fetchone()[0]
    db.close()
    monkeypatch.setattr(nvd_prepared, "MAX_VALUE", longest - 1)
    with pytest.raises(FeedRejected, match="description"):
        nvd_prepared.check_values(str(path))
    monkeypatch.setattr(nvd_prepared, "MAX_VALUE", any_longest)
    assert nvd_prepared.check_values(str(path)).records == 8


@pytest.mark.django_db(transaction=True)
def test_the_register_keeps_its_foreign_keys_after_a_merge(tmp_path: Path) -> None:
    """The merge runs without them (the checks stand for them); they are on again after it,
    whether the file was merged or refused."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's merge only")
    path = _prepared(tmp_path)
    nvd_prepared.import_prepared(str(path), file_name="p", sha256="0" * 64)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1
    forget()
    HOSTILE["keys of a record that is not there"][0](path)
    with pytest.raises(FeedRejected, match="of no record"):
        nvd_prepared.import_prepared(str(path), file_name="p", sha256="0" * 64)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db
def test_each_chunk_of_records_is_checked_by_one_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checking processes share the chunks between them: a bad value in any chunk is
    found by exactly one share, and by the whole check."""
    monkeypatch.setattr(nvd_prepared, "_CHECK_ROWS", 3)
    path = _prepared(tmp_path)
    with nvd_prepared._reading(str(path)) as db:
        numbers = [n for (n,) in db.execute("SELECT n FROM record ORDER BY n")]
    for n in numbers:
        copy = tmp_path / f"bad-{n}.sqlite3"
        copy.write_bytes(path.read_bytes())
        _sql(f"UPDATE record SET cvss3_score = 11 WHERE n = {n}")(copy)  # noqa: S608
        found = []
        with nvd_prepared._reading(str(copy)) as db:
            for share in range(2):
                try:
                    nvd_prepared._check_share(db, share, 2)
                except FeedRejected:
                    found.append(share)
        assert len(found) == 1, n
        with pytest.raises(FeedRejected, match="cvss3_score"):
            nvd_prepared.check_values(str(copy))


# --- the quick checks of many values agree with the checks of one --------------------------------

SPEC = settings(max_examples=400, deadline=None, database=None, derandomize=True)


def _changed(valid: st.SearchStrategy[str], alphabet: str) -> st.SearchStrategy[str]:
    """Right values, and right values with one character replaced, added or taken out."""

    @st.composite
    def change(draw: st.DrawFn) -> str:
        text = draw(valid)
        at = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from(alphabet))
        how = draw(st.sampled_from(("replace", "insert", "delete")))
        if how == "insert":
            return text[:at] + char + text[at:]
        if how == "delete":
            return text[:at] + text[at + 1 :]
        return text[:at] + char + text[at + 1 :]

    return st.one_of(valid, change(), st.text(alphabet, max_size=30))


def _roundtrip(value: str) -> bool:
    """The form the checks of datetimes stand for (Django's naive form on SQLite)."""
    try:
        read = datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return read.tzinfo is None and str(read) == value


_ANY_DATETIME = st.datetimes(
    datetime.datetime(1, 1, 1), datetime.datetime(9999, 12, 31, 23, 59, 59)
)
DATETIMES = _changed(
    st.one_of(
        _ANY_DATETIME.map(str),
        _ANY_DATETIME.map(lambda d: d.isoformat(sep=" ", timespec="microseconds")),
    ),
    "0123456789-: .T+Z\n\0\u0661",
)


@SPEC
@given(DATETIMES)
@example("2024-01-02 03:04:05+00:00")
@example("2024-02-29 23:59:59.000001")
def test_the_datetime_check_is_pythons_own_reading(value: str) -> None:
    assert nvd_prepared._datetimes(value, 1) == _roundtrip(value)


@SPEC
@given(st.lists(DATETIMES, max_size=6))
def test_datetimes_checked_together_are_checked_each(values: list[str]) -> None:
    together = nvd_prepared._datetimes("\n".join(values) if values else None, len(values))
    assert together == all(map(_roundtrip, values))


def _id_rule(value: str) -> bool:
    """The rule the check of ids stands for: a CVE id of at most 64 ASCII characters."""
    db = sqlite3.connect(":memory:")
    good = db.execute(
        "SELECT ?1 GLOB 'CVE-[0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9]*' AND substr(?1, 10) "
        "NOT GLOB '*[^0-9]*' AND length(?1) <= 64",
        [value],
    ).fetchone()[0]
    db.close()
    return bool(good) and "\0" not in value


@SPEC
@given(
    _changed(
        st.builds(
            "CVE-{}-{}".format,
            st.text("0123456789", min_size=4, max_size=4),
            st.one_of(
                st.text("0123456789", min_size=4, max_size=6),
                st.text("0123456789", min_size=54, max_size=57),
            ),
        ),
        "0123456789CVE-x\n\0",
    )
)
def test_the_id_check_is_the_cve_form(value: str) -> None:
    assert nvd_prepared._cve_ids(value, 1) == _id_rule(value)


@SPEC
@given(st.lists(st.text("ab \n\0é", max_size=10), max_size=6))
def test_texts_checked_together_pass_only_when_each_does(values: list[str]) -> None:
    check = nvd_prepared._text_check("t", 8)
    together = check.many("\n".join(values) if values else None, len(values))
    each = all(map(check.one, values))
    if together:
        assert each
    if each and not any("\n" in value for value in values):
        assert together


@pytest.mark.django_db
def test_a_chunk_too_long_to_join_is_checked_value_by_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite makes no text longer than its limit (a gigabyte): a chunk whose texts joined
    would be is checked one value at a time, and refused only for a wrong one."""
    opened = nvd_prepared._open_read_only

    def small_texts(path: str) -> sqlite3.Connection:
        db = opened(path)
        db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1000)
        return db

    monkeypatch.setattr(nvd_prepared, "_open_read_only", small_texts)
    path = _prepared(tmp_path)
    db = sqlite3.connect(path)
    db.execute("UPDATE configuration SET data = '[]'")  # some are longer than the limit
    db.commit()
    db.close()
    assert nvd_prepared.check_values(str(path)).records == 8
    _sql("UPDATE record SET published = '2023-02-30 00:00:00' WHERE n = 3")(path)
    with pytest.raises(FeedRejected, match="published"):
        nvd_prepared.check_values(str(path))
