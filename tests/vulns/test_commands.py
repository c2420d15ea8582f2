"""``feeds import`` and ``feeds status``: summaries, progress, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from medshield.vulns.models import FeedImport, Vulnerability
from tests.conftest import CORPUS

pytestmark = pytest.mark.django_db

NVD = str(CORPUS / "nvd/cve-records/CVE-2020-12040.json")
CSAF = str(CORPUS / "csaf/cisa-icsma/icsma-20-254-01.json")


def test_it_imports_every_file_and_prints_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("feeds_import", NVD, CSAF)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{NVD}: nvd: 1 created, 0 updated, 0 unchanged, 0 skipped",
        f"{CSAF}: csaf: 1 created, 0 updated, 0 unchanged, 0 skipped",
    ]
    assert FeedImport.objects.count() == 2


def test_it_exits_1_when_a_file_is_refused_and_still_imports_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"vulnerabilities": [{"cve": {"id": "CVE-2024-0001"')
    with pytest.raises(CommandError) as excinfo:
        call_command("feeds_import", str(bad), NVD)
    assert excinfo.value.returncode == 1
    captured = capsys.readouterr()
    assert f"{bad}: refused, nothing imported: the JSON is malformed or truncated" in captured.err
    assert f"{NVD}: nvd: 1 created" in captured.out
    assert Vulnerability.objects.filter(vuln_id="CVE-2020-12040").exists()
    assert not Vulnerability.objects.filter(vuln_id="CVE-2024-0001").exists()


def test_it_refuses_files_of_another_format_than_asked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CommandError) as excinfo:
        call_command("feeds_import", CSAF, "--format", "nvd")
    assert excinfo.value.returncode == 1
    assert "the file is csaf, not nvd" in capsys.readouterr().err


def test_it_reports_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CommandError):
        call_command("feeds_import", "/nonexistent/feed.json")
    assert "cannot be read" in capsys.readouterr().err


def test_it_records_the_user(django_user_model, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user("kanri")
    call_command("feeds_import", NVD, "--user", "kanri")
    assert FeedImport.objects.get().user == user


def test_status_lists_every_source(capsys: pytest.CaptureFixture[str], epss_file: Path) -> None:
    call_command("feeds_import", NVD, CSAF, str(epss_file))
    capsys.readouterr()
    call_command("feeds_status")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "source",
        "records",
        "newest",
        "record",
        "last",
        "import",
        "age",
        "(days)",
        "state",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {"nvd", "jvn", "csaf", "kev", "epss"}
    assert rows["nvd"][1:3] == ["1", "2024-11-21"]
    assert rows["nvd"][-1] == "fresh"
    assert rows["epss"][1:3] == ["2", "2026-11-20"]
    assert rows["kev"][1] == "0" and rows["kev"][-1] == "never"


def test_the_medshield_command_exits_1_on_a_refused_file(tmp_path: Path) -> None:
    """Through the real console script, as an operator runs it (and a separate database)."""
    bad = tmp_path / "bomb.xml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "a">]><x>&a;</x>')
    env = {"MEDSHIELD_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    medshield = str(Path(sys.executable).with_name("medshield"))
    subprocess.run([medshield, "migrate", "-v0"], env=env, check=True, timeout=120)
    proc = subprocess.run(
        [medshield, "feeds", "import", str(bad), NVD],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "DTD" in proc.stderr
    assert "nvd: 1 created" in proc.stdout
    ok = subprocess.run(
        [medshield, "feeds", "import", NVD], env=env, capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stderr
    assert "0 created, 0 updated, 1 unchanged" in ok.stdout
