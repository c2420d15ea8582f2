"""Offline bundles: ``feeds bundle`` packs feeds, ``feeds import`` loads them safely."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
import zstandard
from django.core.management import call_command
from django.core.management.base import CommandError

from medshield.vulns.bundle import BUNDLE_FORMAT, import_bundle
from medshield.vulns.importers import FeedRejected
from medshield.vulns.models import FeedImport, Vulnerability
from tests.conftest import CORPUS
from tests.vulns.conftest import snapshot

pytestmark = pytest.mark.django_db

FEEDS = [
    CORPUS / "nvd/cve-records/CVE-2022-2119.json",
    CORPUS / "csaf/cisa-icsma/icsma-22-174-01.json",
    CORPUS / "jvn/myjvn-hnd-3.2/getVulnOverviewList_hnd.xml",
]


def _raw_bundle(path: Path, members: list[tuple[str, bytes]]) -> Path:
    """A bundle written by hand, to build broken and hostile ones."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
    return path


def _manifest(*files: tuple[str, bytes, str]) -> bytes:
    import hashlib

    return json.dumps(
        {
            "format": BUNDLE_FORMAT,
            "version": 1,
            "files": [
                {"name": n, "format": f, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                for n, d, f in files
            ],
        }
    ).encode()


def test_it_bundles_and_imports_feeds(
    tmp_path: Path, epss_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "feeds.tar.zst"
    call_command("feeds_bundle", str(out), *map(str, FEEDS), str(epss_file))
    assert "4 file(s)" in capsys.readouterr().out
    call_command("feeds_import", str(out))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    # NVD files travel prepared: one member of the rows they hold (see test_nvd_prepared).
    assert f"{out}:nvd-prepared.sqlite3: nvd: 1 created" in lines[0]
    assert {r.kind for r in FeedImport.objects.all()} == {"nvd", "csaf", "jvn", "epss"}
    assert FeedImport.objects.get(kind="csaf").file_name == "icsma-22-174-01.json"
    assert Vulnerability.objects.get(vuln_id="CVE-2022-2119").epss_date is not None

    before = snapshot(include_imports=False)
    call_command("feeds_import", str(out))
    assert all("0 created, 0 updated" in line for line in capsys.readouterr().out.splitlines())
    assert snapshot(include_imports=False) == before


def test_it_refuses_to_bundle_a_file_that_is_not_a_feed(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "feeds_bundle",
            str(tmp_path / "out.tar.zst"),
            str(CORPUS / "kev/known_exploited_vulnerabilities_schema.json"),
        )
    assert excinfo.value.returncode == 1


def test_a_tampered_member_is_refused_and_the_others_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nvd = FEEDS[0].read_bytes()
    csaf = FEEDS[1].read_bytes()
    manifest = _manifest(("nvd.json", nvd, "nvd"), ("csaf.json", csaf, "csaf"))
    path = _raw_bundle(
        tmp_path / "b.tar.zst",
        [
            ("manifest.json", manifest),
            ("nvd.json", nvd),
            ("csaf.json", csaf.replace(b"a", b"b", 1)),
        ],
    )
    with pytest.raises(CommandError) as excinfo:
        call_command("feeds_import", str(path))
    assert excinfo.value.returncode == 1
    assert "csaf.json: refused, nothing imported: its SHA-256 differs" in capsys.readouterr().err
    assert FeedImport.objects.get().kind == "nvd"


def test_member_names_never_reach_the_file_system(tmp_path: Path) -> None:
    nvd = FEEDS[0].read_bytes()
    evil = "../../../../tmp/medshield-evil.json"
    path = _raw_bundle(
        tmp_path / "b.tar.zst",
        [("manifest.json", _manifest((evil, nvd, "nvd"))), (evil, nvd)],
    )
    results = list(import_bundle(str(path)))
    assert [r.record.kind for r in results if r.record] == ["nvd"]
    assert not Path("/tmp/medshield-evil.json").exists()


def test_it_refuses_a_bundle_without_a_manifest(tmp_path: Path) -> None:
    path = _raw_bundle(tmp_path / "b.tar.zst", [("nvd.json", FEEDS[0].read_bytes())])
    with pytest.raises(FeedRejected, match="manifest.json"):
        list(import_bundle(str(path)))


def test_it_refuses_a_zstd_bomb(tmp_path: Path) -> None:
    """A bundle inflating past the cap stops there: 32 MB of zeros behind a valid manifest."""
    zeros = b"\0" * (32 * 1024 * 1024)
    path = _raw_bundle(
        tmp_path / "bomb.tar.zst",
        [("manifest.json", _manifest(("big.json", zeros, "nvd"))), ("big.json", zeros)],
    )
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(FeedRejected, match="possible bomb"):
        list(import_bundle(str(path), max_inflated=8 * 1024 * 1024))
    assert snapshot() == {k: [] for k in snapshot()}


def test_it_refuses_a_truncated_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "feeds.tar.zst"
    call_command("feeds_bundle", str(out), *map(str, FEEDS))
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    with pytest.raises(CommandError) as excinfo:
        call_command("feeds_import", str(out))
    assert excinfo.value.returncode == 1
    assert "refused" in capsys.readouterr().err
