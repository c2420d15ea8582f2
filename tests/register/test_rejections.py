"""A wrong record refuses the whole file, names its row and reason, and changes nothing."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings

from medshield.register.document import (
    ImportRejected,
    export_document,
    import_document,
    read_register,
    write_csv,
)
from tests.register.conftest import csv_bytes, csv_rows, state

pytestmark = pytest.mark.django_db

Rows = list[dict[str, str]]


def _row(rows: Rows, tag: str, interface: str = "") -> dict[str, str]:
    return next(r for r in rows if r["asset_tag"] == tag and r["interface"] == interface)


def _unknown_room(rows: Rows) -> None:
    _row(rows, "ME-000123", "eth0")["room"] = "399"


def _duplicate_ip_in_file(rows: Rows) -> None:
    _row(rows, "ME-000124", "eth0")["ip_addresses"] = "10.1.10.21"


def _malformed_mac(rows: Rows) -> None:
    _row(rows, "ME-000123", "eth0")["mac"] = "00:1a:2b:zz:4d:5e"


def _unknown_kind(rows: Rows) -> None:
    _row(rows, "PC-0001")["kind"] = "toaster"


def _duplicate_tag(rows: Rows) -> None:
    rows.append({**_row(rows, "PC-0001"), "name": "another PC"})


def _host_not_physical(rows: Rows) -> None:
    _row(rows, "SV-0002", "eth0")["host"] = "ME-000123"


def _unknown_port(rows: Rows) -> None:
    _row(rows, "ME-000123", "eth0")["switch_port"] = "Gi9/0/99"


def _unknown_switch(rows: Rows) -> None:
    _row(rows, "ME-000123", "eth0")["switch"] = "NW-9999"


def _malformed_ip(rows: Rows) -> None:
    _row(rows, "ME-000124", "eth0")["ip_addresses"] = "10.1.10.300"


def _missing_name(rows: Rows) -> None:
    _row(rows, "PC-0001")["name"] = ""


#: (edit, row of the wrong record, column, words of the reason)
CASES: list[tuple[Callable[[Rows], None], int, str, str]] = [
    (_unknown_room, 2, "room", "unknown place MAIN/A/3F/399"),
    (_duplicate_ip_in_file, 3, "ip_addresses", "10.1.10.21 is also given to ME-000123 eth0"),
    (_malformed_mac, 2, "mac", "is not a MAC address"),
    (_unknown_kind, 11, "kind", "unknown value 'toaster'"),
    (_duplicate_tag, 14, "asset_tag", "PC-0001 appears twice in the file (also at row 11)"),
    (_host_not_physical, 13, "host", "The host must be a physical server"),
    (_unknown_port, 2, "switch_port", "unknown interface Gi9/0/99 of NW-0042"),
    (_unknown_switch, 2, "switch", "unknown asset NW-9999"),
    (_malformed_ip, 3, "ip_addresses", "'10.1.10.300' is not an IP address"),
    (_missing_name, 11, "name", "is required"),
]


@pytest.mark.parametrize(
    ("edit", "row", "column", "reason"), CASES, ids=[c[0].__name__ for c in CASES]
)
def test_it_refuses_a_bad_row_and_changes_nothing(
    loaded: dict[str, Any], edit: Callable[[Rows], None], row: int, column: str, reason: str
) -> None:
    rows = csv_rows(write_csv(export_document()))
    # the new value of an unrelated asset proves nothing at all is written
    _row(rows, "PC-0001")["notes"] = "would change"
    edit(rows)
    before = state()
    parsed = read_register(csv_bytes(rows), filename="assets.csv")
    with pytest.raises(ImportRejected) as excinfo:
        import_document(parsed.document, source=parsed.source)
    messages = [str(e) for e in excinfo.value.errors]
    assert any(m.startswith(f"row {row}, column {column}: ") and reason in m for m in messages), (
        messages
    )
    assert state() == before


def test_it_refuses_an_address_another_asset_holds_in_the_database(
    loaded: dict[str, Any],
) -> None:
    data = (
        "資産番号,機器名,種別,IPアドレス\r\n"
        "ME-777,新しいモニタ,医療機器,10.1.10.50\r\n"
        "ME-778,もう一台,医療機器,10.1.10.21\r\n"
    ).encode()
    before = state()
    parsed = read_register(data)
    with pytest.raises(ImportRejected) as excinfo:
        import_document(parsed.document, source=parsed.source)
    assert [str(e) for e in excinfo.value.errors] == [
        "row 3, column IPアドレス: 10.1.10.21 is already used by "
        "Patient monitor ICU-1 (ME-000123) in 10.1.10.0/24"
    ]
    assert state() == before


def test_it_lists_every_error_with_json_paths(loaded: dict[str, Any]) -> None:
    doc = copy.deepcopy(loaded)
    doc["subnets"][1]["prefix"] = "10.1.10.5/24"
    doc["subnets"].append({"prefix": "10.1.300.0/24"})
    doc["assets"][0]["interfaces"][0]["mac"] = "nonsense"
    doc["assets"][1]["place"]["room"] = "999"
    doc["assets"][2]["kind"] = "router-ish"
    before = state()
    with pytest.raises(ImportRejected) as excinfo:
        import_document(doc)
    messages = [str(e) for e in excinfo.value.errors]
    assert any(
        m.startswith("subnets[1].prefix: '10.1.10.5/24' is not an IP prefix") for m in messages
    )
    assert any(m.startswith("subnets[3].prefix: '10.1.300.0/24'") for m in messages)
    assert any(m.startswith("assets[0].interfaces[0].mac: 'nonsense'") for m in messages)
    assert any(m.startswith("assets[1].place.room: unknown place MAIN/B/2F/999") for m in messages)
    assert any(m.startswith("assets[2].kind: unknown value") for m in messages)
    assert state() == before


def test_it_names_the_sheet_in_a_workbook(loaded: dict[str, Any]) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "機器一覧"
    sheet.append(["管理番号", "機器名", "種別", "設置場所", "MACアドレス"])
    sheet.append(["ME-5", "輸液ポンプ", "医療機器", "A/3F/301", "zz"])
    out = io.BytesIO()
    workbook.save(out)
    parsed = read_register(out.getvalue())
    with pytest.raises(ImportRejected) as excinfo:
        import_document(parsed.document, source=parsed.source)
    assert [str(e) for e in excinfo.value.errors] == [
        "sheet 機器一覧, row 2, column MACアドレス: 'zz' is not a MAC address "
        "(expected e.g. 00:1a:2b:3c:4d:5e)"
    ]


def test_it_refuses_json_that_is_not_an_object() -> None:
    with pytest.raises(ImportRejected, match="one JSON object"):
        read_register(b"[1, 2, 3]")
    with pytest.raises(ImportRejected, match="not valid JSON"):
        read_register(b'{"assets": [}')


def test_it_refuses_deeply_nested_json() -> None:
    deep = b'{"a": ' + b"[" * 100 + b"]" * 100 + b"}"
    with pytest.raises(ImportRejected, match="nested deeper than 64"):
        read_register(deep)
    # brackets inside strings do not count
    assert read_register(json.dumps({"notes": "[" * 100}).encode()).format == "json"


@override_settings(MAX_UPLOAD_MB=1)
def test_it_refuses_files_over_the_limit() -> None:
    with pytest.raises(ImportRejected, match="the limit is 1 MB"):
        read_register(b"{" + b" " * (1024 * 1024 + 1) + b"}")


@override_settings(MAX_UPLOAD_MB=1)
def test_it_refuses_a_workbook_that_inflates_too_far() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (21 * 1024 * 1024))
    assert len(out.getvalue()) < 1024 * 1024
    with pytest.raises(ImportRejected, match="unpacks to 21 MB"):
        read_register(out.getvalue())


@pytest.mark.parametrize("tag", ["ME/1", "ME 1", "new"])
def test_it_refuses_an_asset_tag_that_cannot_be_a_page_address(
    register_doc: dict[str, Any], tag: str
) -> None:
    register_doc["assets"][0]["asset_tag"] = tag
    register_doc["cabling"] = register_doc["external_connections"] = register_doc["flows"] = []
    with pytest.raises(ImportRejected) as caught:
        import_document(register_doc)
    [error] = caught.value.errors
    assert (error.record, error.field) == ("assets[0]", "asset_tag")


def test_an_asset_tag_ending_in_a_newline_is_refused_by_the_model() -> None:
    from django.core.exceptions import ValidationError

    from medshield.assets.models import Asset

    asset = Asset(asset_tag="ME-1\n", name="pump", kind="medical_device")
    with pytest.raises(ValidationError) as caught:
        asset.clean_fields()
    assert "asset_tag" in caught.value.message_dict


def test_an_import_holds_other_writers_off_on_postgresql() -> None:
    from django.db import connection, transaction

    from medshield.register.importer import lock_register

    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes its write lock at BEGIN (transaction_mode IMMEDIATE)")
    with transaction.atomic():
        lock_register()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT l.mode FROM pg_locks l JOIN pg_class r ON l.relation = r.oid "
                "WHERE r.relname = 'assets_asset' AND l.pid = pg_backend_pid()"
            )
            modes = {mode for (mode,) in cursor.fetchall()}
    assert "ShareRowExclusiveLock" in modes
