"""Entity bombs and 10 GB decompression bombs are refused, with a clear reason, storing nothing.

Already covered elsewhere (not repeated here): the billion laughs in a JVN feed
(tests/vulns/test_hostile.py) and in a CycloneDX XML SBOM (tests/sboms/test_hostile.py), a 2 GB
EPSS gzip bomb and a small zstd bundle bomb with a lowered cap. Added here: the entity bomb in
the XML importers that had none (register XLSX, nmap, CycloneDX XML as VEX) and a 10 GB bomb
for every compressed format, with the default limits: gzip (EPSS feed, Zeek log), Zstandard
(feed bundle) and zip (register XLSX, honest and lying about its size).

How long each refusal takes is printed by ``benchmarks/bombs.py``, not asserted here.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation

from medshield.assets.models import Asset
from medshield.discovery.models import ObservationSource
from medshield.discovery.observe import EvidenceError, import_file
from medshield.register.errors import ImportRejected
from medshield.register.readers import read_register
from medshield.sboms.importers import import_vex
from medshield.vulns.bundle import BUNDLE_FORMAT, import_bundle
from medshield.vulns.importers import FeedRejected, import_path
from medshield.vulns.models import FeedImport
from tests.safety.bombs import (
    BOMB_SIZE,
    billion_laughs,
    bundle_bomb,
    gzip_bomb,
    zip_bomb,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages in English (the source language), whatever the Japanese catalogue holds."""
    with translation.override("en"):
        yield


XLSX_SHEET = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
    '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>{lol}</t></is></c></row></sheetData>',
)


def _workbook() -> dict[str, bytes]:
    """The parts of a real one-sheet workbook written by openpyxl."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "assets"
    sheet.append(["asset_tag", "name"])
    sheet.append(["ME-1", "輸液ポンプ"])
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _sheet_name(parts: dict[str, bytes]) -> str:
    return next(n for n in parts if n.startswith("xl/worksheets/sheet"))


# --- entity bombs ----------------------------------------------------------------------------


def test_the_workbook_without_a_bomb_is_read() -> None:
    """The control: the same workbook, unmodified, is read (so the refusals below are real)."""
    parsed = read_register(_zip(_workbook()), filename="register.xlsx")
    assert parsed.format == "xlsx"
    assert parsed.document["assets"][0]["asset_tag"] == "ME-1"


@pytest.mark.parametrize("part", ["sheet", "sharedStrings"])
def test_an_xlsx_with_an_entity_bomb_is_refused(part: str) -> None:
    parts = _workbook()
    bomb = billion_laughs(*XLSX_SHEET)
    if part == "sheet":
        parts[_sheet_name(parts)] = bomb
    else:
        # A workbook whose cells name shared strings, and a shared-strings part that is a bomb.
        parts["xl/sharedStrings.xml"] = billion_laughs(
            'sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
            "<si><t>{lol}</t></si>",
        )
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            b"</Types>",
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
        parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>",
            b'<Relationship Id="rIdSS" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        )
        name = _sheet_name(parts)
        parts[name] = re.sub(
            rb'<c r="A1"[^>]*>.*?</c>', b'<c r="A1" t="s"><v>0</v></c>', parts[name], count=1
        )
        assert b't="s"' in parts[name]
    with pytest.raises(ImportRejected) as refused:
        read_register(_zip(parts), filename="register.xlsx")
    assert "declares a DTD or entities" in str(refused.value)
    assert Asset.objects.count() == 0


def test_an_nmap_report_with_an_entity_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scan.xml"
    path.write_bytes(billion_laughs('nmaprun scanner="nmap" args="nmap -sV"', "<host>{lol}</host>"))
    with pytest.raises(EvidenceError, match="entities"):
        import_file(path)
    assert ObservationSource.objects.count() == 0


def test_a_cyclonedx_vex_with_an_entity_bomb_is_refused() -> None:
    bomb = billion_laughs(
        'bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"',
        "<vulnerabilities><vulnerability><id>{lol}</id></vulnerability></vulnerabilities>",
    )
    with pytest.raises(ImportRejected, match="DTD or entities"):
        import_vex(bomb, filename="bomb.vex.xml")


# --- 10 GB decompression bombs ---------------------------------------------------------------


def test_a_10_gb_xlsx_zip_bomb_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    parts = _workbook()
    sheet = _sheet_name(parts)
    del parts[sheet]
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 20_000
    path = zip_bomb(tmp_path / "bomb.xlsx", parts, sheet, row)
    assert path.stat().st_size < 40 * 1024 * 1024
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(sheet).file_size > 0.99 * BOMB_SIZE
    with pytest.raises(ImportRejected, match="unpacks to .* MB, more than 20 times"):
        read_register(path.read_bytes(), filename="bomb.xlsx")


def test_an_xlsx_lying_about_its_size_is_refused(tmp_path: Path) -> None:
    """Headers claiming 1 KB for a member that inflates further: the reader stops at the
    claimed size and the workbook is refused as damaged, not inflated."""
    parts = _workbook()
    sheet = _sheet_name(parts)
    del parts[sheet]
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 2_000
    path = zip_bomb(tmp_path / "liar.xlsx", parts, sheet, row, size=64 * 1024**2, declared=1024)
    with pytest.raises(ImportRejected, match="XLSX"):
        read_register(path.read_bytes(), filename="liar.xlsx")


def test_a_10_gb_gzip_zeek_log_is_refused(tmp_path: Path) -> None:
    head = (
        b"#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h"
        b"\tid.resp_p\tproto\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\n"
    )
    row = b"1700000000.000000\tCx\t10.1.20.15\t49152\t10.9.0.20\t104\ttcp\n"
    path = gzip_bomb(tmp_path / "conn.log.gz", head, row)
    with pytest.raises(EvidenceError, match="possible bomb"):
        import_file(path)
    assert ObservationSource.objects.count() == 0


def test_a_10_gb_gzip_epss_feed_is_refused(tmp_path: Path) -> None:
    head = b"#model_version:v2025.03.14,score_date:2026-11-20T00:00:00+0000\ncve,epss,percentile\n"
    path = gzip_bomb(tmp_path / "epss.csv.gz", head, b"CVE-2024-0001,0.00043,0.09000\n")
    with pytest.raises(FeedRejected, match="possible bomb"):
        import_path(str(path))
    assert FeedImport.objects.count() == 0


def test_a_10_gb_zstd_feed_bundle_is_refused(tmp_path: Path) -> None:
    manifest = {
        "format": BUNDLE_FORMAT,
        "version": 1,
        "files": [{"name": "nvd.json", "format": "nvd", "sha256": "0" * 64, "size": BOMB_SIZE}],
    }
    path = bundle_bomb(tmp_path / "feeds.tar.zst", manifest, "nvd.json")
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(FeedRejected, match="possible bomb"):
        list(import_bundle(str(path)))
    assert FeedImport.objects.count() == 0
