"""How quickly hostile files are refused: a 10 GB-when-inflated bomb per compressed format and an
entity bomb per XML importer, built on the fly (tests/safety/bombs.py), against a throw-away
SQLite database.

Usage: .venv/bin/python benchmarks/bombs.py
Prints one line per file: its size on disk, how long the refusal took and the reason given.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="medshield-bombs-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="medshield.settings", MEDSHIELD_DATA_DIR=str(tmp), DATABASE_URL=""
    )
    import django
    from django.core.management import call_command
    from django.utils import translation

    django.setup()
    translation.activate("en")
    call_command("migrate", verbosity=0, interactive=False)

    from medshield.discovery.observe import import_file
    from medshield.register.readers import read_register
    from medshield.sboms.importers import import_sbom
    from medshield.vulns.bundle import BUNDLE_FORMAT, import_bundle
    from medshield.vulns.importers import import_path
    from tests.safety.bombs import BOMB_SIZE, billion_laughs, bundle_bomb, gzip_bomb, zip_bomb
    from tests.safety.test_bombs import XLSX_SHEET, _sheet_name, _workbook, _zip

    epss = gzip_bomb(
        tmp / "epss.csv.gz",
        b"#model_version:v2025.03.14,score_date:2026-11-20T00:00:00+0000\ncve,epss,percentile\n",
        b"CVE-2024-0001,0.00043,0.09000\n",
    )
    zeek = gzip_bomb(
        tmp / "conn.log.gz",
        b"#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h"
        b"\tid.resp_p\tproto\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\n",
        b"1700000000.000000\tCx\t10.1.20.15\t49152\t10.9.0.20\t104\ttcp\n",
    )
    bundle = bundle_bomb(
        tmp / "feeds.tar.zst",
        {"format": BUNDLE_FORMAT, "version": 1,
         "files": [{"name": "nvd.json", "format": "nvd", "sha256": "0" * 64, "size": BOMB_SIZE}]},
        "nvd.json",
    )  # fmt: skip
    parts = _workbook()
    sheet = _sheet_name(parts)
    del parts[sheet]
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 20_000
    xlsx = zip_bomb(tmp / "bomb.xlsx", parts, sheet, row)
    laughs = _workbook()
    laughs[_sheet_name(laughs)] = billion_laughs(*XLSX_SHEET)
    (tmp / "laughs.xlsx").write_bytes(_zip(laughs))
    nmap = tmp / "scan.xml"
    nmap.write_bytes(billion_laughs("nmaprun", "<host>{lol}</host>"))
    cdx = billion_laughs(
        'bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"',
        "<components><component><name>{lol}</name></component></components>",
    )
    (tmp / "bom.xml").write_bytes(cdx)

    cases: list[tuple[str, Path, Callable[[], object]]] = [
        ("EPSS feed, gzip, 10 GB", epss, lambda: import_path(str(epss))),
        ("Zeek log, gzip, 10 GB", zeek, lambda: import_file(zeek)),
        ("feed bundle, zstd, 10 GB", bundle, lambda: list(import_bundle(str(bundle)))),
        ("register XLSX, zip, 10 GB", xlsx, lambda: read_register(xlsx.read_bytes(), fmt="xlsx")),
        ("register XLSX, entity bomb", tmp / "laughs.xlsx",
         lambda: read_register((tmp / "laughs.xlsx").read_bytes(), fmt="xlsx")),
        ("nmap XML, entity bomb", nmap, lambda: import_file(nmap)),
        ("CycloneDX XML, entity bomb", tmp / "bom.xml", lambda: import_sbom(cdx)),
    ]  # fmt: skip
    print(f"{'file':<30} {'on disk':>10} {'refused in':>11}  reason")
    for name, path, call in cases:
        started = time.perf_counter()
        try:
            call()
            outcome = "ACCEPTED"
        except Exception as exc:  # noqa: BLE001 - every refusal is reported as it is
            outcome = str(exc).splitlines()[0][:90]
        elapsed = time.perf_counter() - started
        size = path.stat().st_size
        print(f"{name:<30} {size / 1024:>8.0f} KB {elapsed:>9.2f} s  {outcome}")


if __name__ == "__main__":
    main()
