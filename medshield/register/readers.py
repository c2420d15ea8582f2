"""Read a register file (JSON, CSV or XLSX) into the document the importer takes.

Spreadsheets are turned into the same document as JSON, with a :class:`SourceMap` so that errors
name the sheet, the row as Excel numbers it and the column header as the user wrote it. Files
are untrusted: they are size-limited, JSON nesting is bounded before parsing, and an XLSX file
(a zip) is refused when it would inflate beyond 20 times the upload limit.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from medshield.register.errors import Location, SourceMap, file_error
from medshield.register.exporter import FORMAT_NAME, FORMAT_VERSION
from medshield.register.vocabulary import (
    ASSET_COLUMNS,
    PLACE,
    PLACE_COLUMNS,
    SHEET_COLUMNS,
    field_for_header,
    field_for_sheet_header,
    normalise_key,
)

FORMATS = ("json", "csv", "xlsx")

#: deepest JSON nesting accepted (the format itself needs 7)
MAX_JSON_DEPTH = 64

#: how much bigger than the upload limit an XLSX file may grow once unzipped
MAX_XLSX_RATIO = 20

#: rows of the assets sheet shown in the web preview
PREVIEW_ROWS = 20

#: fields of an assets-sheet row that describe the asset (the rest describe an interface)
_INTERFACE_FIELDS = ("interface", "mac", "ip_addresses")
_CABLE_FIELDS = ("switch", "switch_port", "cable_type", "cable_label")
_ASSET_FIELDS = tuple(
    f
    for f in ASSET_COLUMNS
    if f not in _INTERFACE_FIELDS and f not in _CABLE_FIELDS and f not in PLACE_COLUMNS
)

#: sheet names (normalised) that hold the assets in a workbook
_ASSET_SHEET_NAMES = {"assets", "資産", "機器", "機器一覧", "資産一覧", "台帳"}


def max_upload_bytes() -> int:
    """The largest file accepted, from settings.MAX_UPLOAD_MB."""
    return int(settings.MAX_UPLOAD_MB) * 1024 * 1024


def check_size(size: int) -> None:
    """Refuse a file bigger than settings.MAX_UPLOAD_MB."""
    if size > max_upload_bytes():
        raise file_error(
            _(
                "the file is {size:.1f} MB; the limit is {limit} MB (MEDSHIELD_MAX_UPLOAD_MB)"
            ).format(size=size / 1024 / 1024, limit=settings.MAX_UPLOAD_MB)
        )


@dataclass
class Column:
    """A column of the assets sheet and the field it maps to (None: ignored)."""

    index: int
    header: str
    detected: str | None
    field: str | None

    @property
    def known(self) -> bool:
        return self.detected is not None


@dataclass
class ParsedFile:
    """A register file read into a document, with what the web preview shows about it."""

    format: str
    document: dict[str, Any]
    source: SourceMap | None = None
    columns: list[Column] = field(default_factory=list)
    #: (row number, cells) of the first data rows of the assets sheet
    preview: list[tuple[int, list[str]]] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)

    @property
    def unknown_columns(self) -> list[str]:
        return [c.header for c in self.columns if c.field is None and c.header]


def detect_format(data: bytes, filename: str = "") -> str:
    """json, csv or xlsx from the content (zip magic, a leading brace), else the extension."""
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        return "json"
    suffix = Path(filename).suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    return "csv"


def read_path(path: str | Path, *, fmt: str = "auto") -> ParsedFile:
    """Read a register file from disk (its size is checked before it is read)."""
    path = Path(path)
    try:
        check_size(path.stat().st_size)
        data = path.read_bytes()
    except OSError as exc:
        raise file_error(
            _("cannot read {path}: {why}").format(path=path, why=exc.strerror)
        ) from None
    return read_register(data, filename=path.name, fmt=fmt)


def read_register(
    data: bytes,
    *,
    filename: str = "",
    fmt: str = "auto",
    mapping: dict[int, str | None] | None = None,
) -> ParsedFile:
    """Parse a register file. ``mapping`` overrides the assets sheet's column → field guesses.

    Raises ImportRejected for a file that cannot be read at all (too big, not JSON, not a
    workbook...); errors in individual records are left to the importer.
    """
    check_size(len(data))
    if fmt == "auto":
        fmt = detect_format(data, filename)
    if fmt == "json":
        return ParsedFile("json", _read_json(data))
    if fmt == "csv":
        return _read_csv(data, mapping)
    if fmt == "xlsx":
        return _read_xlsx(data, mapping)
    raise file_error(_("unknown format {fmt}; use json, csv or xlsx").format(fmt=fmt))


# --- JSON ------------------------------------------------------------------------------------

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def _json_depth(data: bytes) -> int:
    """The deepest nesting of a JSON text, without parsing it (strings cannot hide brackets)."""
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', data)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _read_json(data: bytes) -> dict[str, Any]:
    # Checked before json.loads, which would otherwise recurse until Python's stack gives out.
    if _json_depth(data) > MAX_JSON_DEPTH:
        raise file_error(_("the JSON is nested deeper than {n} levels").format(n=MAX_JSON_DEPTH))
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise file_error(_("the JSON file is not UTF-8")) from None
    except json.JSONDecodeError as exc:
        raise file_error(
            _("not valid JSON (line {line}, column {col}): {why}").format(
                line=exc.lineno, col=exc.colno, why=exc.msg
            )
        ) from None
    if not isinstance(doc, dict):
        raise file_error(_("the register file must hold one JSON object, not a list or a value"))
    return doc


# --- spreadsheets ----------------------------------------------------------------------------


def _decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else cp932, the encoding Japanese Excel saves CSV in."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        raise file_error(_("the CSV file is neither UTF-8 nor Shift_JIS (cp932)")) from None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value).strip()


def csv_text(value: str) -> str:
    """A CSV cell as the register stores it: the apostrophe that keeps a formula-like value
    text in a spreadsheet (see exporter.csv_cell) is dropped."""
    if value.startswith("'") and len(value) > 1 and value[1] in "=+-@\t\r'":
        return value[1:]
    return value


def _read_csv(data: bytes, mapping: dict[int, str | None] | None) -> ParsedFile:
    text = _decode_csv(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        rows = [
            [csv_text(_cell(c)) for c in row]
            for row in csv.reader(io.StringIO(text), delimiter=delimiter)
        ]
    except csv.Error as exc:
        raise file_error(_("not a readable CSV file: {why}").format(why=exc)) from None
    if not rows or not any(rows[0]):
        raise file_error(_("the CSV file has no header row"))
    source = SourceMap(show_sheet=False)
    parsed = ParsedFile("csv", {"format": FORMAT_NAME, "version": FORMAT_VERSION}, source)
    _assets_sheet(parsed, "assets", rows, mapping)
    return parsed


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            inflated = sum(info.file_size for info in infos)
            if inflated > MAX_XLSX_RATIO * max_upload_bytes():
                raise file_error(
                    _(
                        "the workbook unpacks to {size} MB, more than {ratio} times the upload "
                        "limit"
                    ).format(size=inflated // (1024 * 1024), ratio=MAX_XLSX_RATIO)
                )
            # Office never writes a DTD; one in a workbook's XML is an entity bomb or XXE.
            for info in infos:
                with archive.open(info) as member:
                    head = member.read(4096)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise file_error(
                        _(
                            "the workbook's XML ({part}) declares a DTD or entities, which Excel "
                            "never writes and entity-expansion (XML bomb) attacks rely on"
                        ).format(part=info.filename)
                    )
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ):
        raise file_error(_("not a valid XLSX workbook")) from None


def _read_xlsx(data: bytes, mapping: dict[int, str | None] | None) -> ParsedFile:
    # Checked before openpyxl opens anything: a zip bomb must not reach the XML parser.
    _check_zip(data)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a broken file
        raise file_error(_("not a readable XLSX workbook: {why}").format(why=exc)) from None
    try:
        sheets: dict[str, list[list[str]]] = {}
        names: list[str] = []
        for sheet in workbook.worksheets:
            names.append(sheet.title)
            sheets[sheet.title] = [
                [_cell(c) for c in row] for row in sheet.iter_rows(values_only=True)
            ]
    finally:
        workbook.close()
    source = SourceMap(show_sheet=True)
    parsed = ParsedFile(
        "xlsx", {"format": FORMAT_NAME, "version": FORMAT_VERSION}, source, sheets=names
    )
    asset_sheet = next((n for n in names if normalise_key(n) in _ASSET_SHEET_NAMES), None)
    others = {normalise_key(n): n for n in names}
    if asset_sheet is None:
        # A workbook of one plain list: its first sheet (unless that is a known further sheet).
        further = {normalise_key(n) for n in SHEET_COLUMNS}
        asset_sheet = next((n for n in names if normalise_key(n) not in further), None)
    if asset_sheet is not None and sheets[asset_sheet]:
        _assets_sheet(parsed, asset_sheet, sheets[asset_sheet], mapping)
    for sheet_name in SHEET_COLUMNS:
        title = others.get(normalise_key(sheet_name))
        if title is not None and title != asset_sheet and sheets[title]:
            _further_sheet(parsed, sheet_name, title, sheets[title])
    return parsed


def _data_rows(rows: list[list[str]]) -> list[tuple[int, list[str]]]:
    """(row number as Excel shows it, cells) of the non-blank rows after the header."""
    return [(number, row) for number, row in enumerate(rows[1:], start=2) if any(row)]


def _assets_sheet(
    parsed: ParsedFile,
    sheet: str,
    rows: list[list[str]],
    mapping: dict[int, str | None] | None,
) -> None:
    """Turn the one-row-per-interface assets sheet into asset records and cables."""
    source = parsed.source
    assert source is not None
    header = rows[0]
    taken: set[str] = set()
    for index, raw in enumerate(header):
        detected = field_for_header(raw) if raw else None
        chosen = mapping.get(index, detected) if mapping is not None else detected
        # The first column for a field wins; a second one is shown but ignored.
        if chosen in taken:
            chosen = None
        if chosen:
            taken.add(chosen)
        parsed.columns.append(Column(index, raw, detected, chosen or None))
    by_field = {c.field: c for c in parsed.columns if c.field}
    headers = {name: c.header for name, c in by_field.items()}
    data = _data_rows(rows)
    parsed.preview = data[:PREVIEW_ROWS]

    asset_columns = dict(headers)
    iface_columns = {**headers, "name": headers.get("interface", "interface")}
    cable_columns = {
        "a": headers.get("interface", "interface"),
        "a.asset_tag": headers.get("asset_tag", "asset_tag"),
        "a.interface": headers.get("interface", "interface"),
        "b": headers.get("switch", "switch"),
        "b.asset_tag": headers.get("switch", "switch"),
        "b.interface": headers.get("switch_port", "switch_port"),
        "cable_type": headers.get("cable_type", "cable_type"),
        "label": headers.get("cable_label", "cable_label"),
    }
    has_place = PLACE in by_field or any(p in by_field for p in PLACE_COLUMNS)
    has_ifaces = any(f in by_field for f in _INTERFACE_FIELDS)
    has_cables = "switch" in by_field or "switch_port" in by_field

    assets: list[dict[str, Any]] = []
    cabling: list[dict[str, Any]] = []
    groups: dict[str, tuple[int, tuple[Any, ...]]] = {}
    for number, row in data:

        def cell(name: str, row: list[str] = row) -> str:
            column = by_field.get(name)
            if column is None or column.index >= len(row):
                return ""
            return row[column.index]

        record: dict[str, Any] = {f: cell(f) for f in _ASSET_FIELDS if f in by_field}
        if has_place:
            combined = cell(PLACE)
            if combined or not any(p in by_field for p in PLACE_COLUMNS):
                record["place"] = combined or None
            else:
                parts = {p: cell(p) for p in PLACE_COLUMNS if p in by_field}
                record["place"] = parts if any(parts.values()) else None
        iface: dict[str, Any] | None = None
        if has_ifaces:
            name, mac, ips = cell("interface"), cell("mac"), cell("ip_addresses")
            if name or mac or ips:
                # A list with MAC and IP but no interface column names the single NIC eth0.
                iface = {"name": name or "eth0", "mac": mac, "ip_addresses": ips}
        tag = record.get("asset_tag", "")
        signature = tuple(sorted((k, repr(v)) for k, v in record.items()))
        group = groups.get(tag)
        if (
            group is not None
            and group[1] == signature
            and iface is not None
            and assets[group[0]].get("interfaces")
        ):
            # Another interface of the same asset: asset columns repeat on each of its rows.
            index = group[0]
        else:
            index = len(assets)
            if has_ifaces:
                record["interfaces"] = []
            assets.append(record)
            groups.setdefault(tag, (index, signature))
            source.locations[f"assets[{index}]"] = Location(sheet, number, asset_columns)
        if iface is not None:
            interfaces = assets[index]["interfaces"]
            source.locations[f"assets[{index}].interfaces[{len(interfaces)}]"] = Location(
                sheet, number, iface_columns
            )
            interfaces.append(iface)
        if has_cables and (cell("switch") or cell("switch_port")):
            cable: dict[str, Any] = {
                "a": {"asset_tag": tag, "interface": iface["name"] if iface else ""},
                "b": {"asset_tag": cell("switch"), "interface": cell("switch_port")},
            }
            if "cable_type" in by_field:
                cable["cable_type"] = cell("cable_type")
            if "cable_label" in by_field:
                cable["label"] = cell("cable_label")
            source.locations[f"cabling[{len(cabling)}]"] = Location(sheet, number, cable_columns)
            cabling.append(cable)
    parsed.document["assets"] = assets
    if cabling:
        parsed.document["cabling"] = cabling


#: places-sheet column → (level, key in the document)
_PLACE_SHEET = {
    "site": ("site", "code"),
    "site_name": ("site", "name"),
    "site_address": ("site", "address"),
    "building": ("building", "code"),
    "building_name": ("building", "name"),
    "floor": ("floor", "name"),
    "floor_level": ("floor", "level"),
    "room": ("room", "code"),
    "room_name": ("room", "name"),
    "rack": ("rack", "name"),
    "rack_u_height": ("rack", "u_height"),
}
_PLACE_LEVELS = ("site", "building", "floor", "room", "rack")
_PLACE_CHILDREN = {"site": "buildings", "building": "floors", "floor": "rooms", "room": "racks"}


def _further_sheet(parsed: ParsedFile, name: str, title: str, rows: list[list[str]]) -> None:
    """Read the places, zones, vlans, subnets, cabling or external_connections sheet."""
    source = parsed.source
    assert source is not None
    index = {}
    headers: dict[str, str] = {}
    for i, raw in enumerate(rows[0]):
        column = field_for_sheet_header(name, raw) if raw else None
        if column is not None and column not in index:
            index[column] = i
            headers[column] = raw

    def get(row: list[str], column: str) -> str:
        i = index.get(column)
        return row[i] if i is not None and i < len(row) else ""

    records: list[dict[str, Any]] = []
    if name == "places":
        _places_sheet(parsed, title, rows, get, headers)
        return
    for number, row in _data_rows(rows):
        path = f"{name}[{len(records)}]"
        if name == "cabling":
            record: dict[str, Any] = {
                "a": {"asset_tag": get(row, "a_asset_tag"), "interface": get(row, "a_interface")},
                "b": {"asset_tag": get(row, "b_asset_tag"), "interface": get(row, "b_interface")},
            }
            for column in ("cable_type", "label"):
                if column in index:
                    record[column] = get(row, column)
            columns = {
                "a": headers.get("a_interface", "a_interface"),
                "a.asset_tag": headers.get("a_asset_tag", "a_asset_tag"),
                "a.interface": headers.get("a_interface", "a_interface"),
                "b": headers.get("b_interface", "b_interface"),
                "b.asset_tag": headers.get("b_asset_tag", "b_asset_tag"),
                "b.interface": headers.get("b_interface", "b_interface"),
                **headers,
            }
        else:
            record = {column: get(row, column) for column in index}
            columns = headers
        source.locations[path] = Location(title, number, columns)
        records.append(record)
    if name == "cabling":
        _merge_cabling(parsed, records, source)
    else:
        parsed.document[name] = records


def _merge_cabling(parsed: ParsedFile, records: list[dict[str, Any]], source: SourceMap) -> None:
    """Add the cabling sheet to the cables the assets sheet described, dropping repeats."""
    cabling = parsed.document.setdefault("cabling", [])
    known: dict[tuple[str, ...], dict[str, Any]] = {}
    for cable in cabling:
        key = (cable["a"]["asset_tag"], cable["a"]["interface"], cable["b"]["asset_tag"],
               cable["b"]["interface"])  # fmt: skip
        known[key] = cable
    offset = len(cabling)
    for i, cable in enumerate(records):
        key = (cable["a"]["asset_tag"], cable["a"]["interface"], cable["b"]["asset_tag"],
               cable["b"]["interface"])  # fmt: skip
        same = known.get(key)
        if same is not None and all(
            not same.get(k) or not cable.get(k) or same[k] == cable[k]
            for k in ("cable_type", "label")
        ):
            # The same patch written on the asset's row and on the cabling sheet.
            for k in ("cable_type", "label"):
                if not same.get(k) and cable.get(k):
                    same[k] = cable[k]
            continue
        location = source.locations.pop(f"cabling[{i}]")
        source.locations[f"cabling[{offset}]"] = location
        cabling.append(cable)
        offset += 1


def _places_sheet(
    parsed: ParsedFile,
    title: str,
    rows: list[list[str]],
    get: Any,
    headers: dict[str, str],
) -> None:
    """One row per most specific place, parents repeated: rebuild the nested places list."""
    source = parsed.source
    assert source is not None
    columns_of: dict[str, dict[str, str]] = {level: {} for level in _PLACE_LEVELS}
    for column, (level, key) in _PLACE_SHEET.items():
        if column in headers:
            columns_of[level][key] = headers[column]
    places: list[dict[str, Any]] = []
    nodes: dict[tuple[str, ...], tuple[str, dict[str, Any]]] = {}
    for number, row in _data_rows(rows):
        parent_list, parent_path, key = places, "places", ()
        for level in _PLACE_LEVELS:
            values = {
                doc_key: get(row, column)
                for column, (lvl, doc_key) in _PLACE_SHEET.items()
                if lvl == level and column in headers
            }
            code_key = "name" if level in ("floor", "rack") else "code"
            code = values.get(code_key, "")
            if not code:
                break
            key = (*key, code)
            known = nodes.get(key)
            if known is None:
                record = {k: v for k, v in values.items() if v != ""}
                if level in _PLACE_CHILDREN:
                    record[_PLACE_CHILDREN[level]] = []
                path = f"{parent_path}[{len(parent_list)}]"
                parent_list.append(record)
                nodes[key] = (path, record)
                source.locations[path] = Location(title, number, columns_of[level])
            else:
                path, record = known
                for k, v in values.items():
                    if v == "":
                        continue
                    if k not in record:
                        record[k] = v
                    elif str(record[k]) != v:
                        source.errors.append(
                            source.at(
                                Location(title, number, columns_of[level]),
                                k,
                                _("{value!r} differs from {old!r} given earlier").format(
                                    value=v, old=record[k]
                                ),
                            )
                        )
            if level in _PLACE_CHILDREN:
                parent_list = record[_PLACE_CHILDREN[level]]
                parent_path = f"{path}.{_PLACE_CHILDREN[level]}"
    parsed.document["places"] = places
