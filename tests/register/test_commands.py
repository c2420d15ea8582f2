"""``medshield register import`` and ``export``, in-process and as the installed command."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from medshield.assets.models import Asset
from medshield.core.models import ObjectChange
from medshield.register.document import export_document, write_json
from tests.register.conftest import state

pytestmark = pytest.mark.django_db

MEDSHIELD = Path(sys.executable).parent / "medshield"


def test_it_imports_and_prints_a_summary(register_doc: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "register.json"
    path.write_text(json.dumps(register_doc, ensure_ascii=False), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command("register_import", str(path), stdout=out, stderr=err)
    assert "json: " in out.getvalue() and " created, 0 updated, 0 deleted" in out.getvalue()
    assert "7 " in out.getvalue().splitlines()[9]  # the assets row: 7 created
    assert "assets: 7/7" in err.getvalue()  # stage lines when stderr is not a terminal
    assert Asset.objects.count() == 7
    again = io.StringIO()
    call_command("register_import", str(path), stdout=again, stderr=io.StringIO())
    assert (
        again.getvalue().splitlines()[-1]
        == "json: no changes (the register already matches the file)"
    )


def test_a_dry_run_writes_nothing(register_doc: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "register.json"
    path.write_text(json.dumps(register_doc), encoding="utf-8")
    out = io.StringIO()
    call_command("register_import", str(path), "--dry-run", stdout=out, stderr=io.StringIO())
    assert "dry run" in out.getvalue()
    assert Asset.objects.count() == 0 and ObjectChange.objects.count() == 0


def test_it_records_the_user(register_doc: dict[str, Any], tmp_path: Path, engineer: Any) -> None:
    path = tmp_path / "register.json"
    path.write_text(json.dumps(register_doc), encoding="utf-8")
    call_command(
        "register_import",
        str(path),
        "--user",
        "engineer",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert set(ObjectChange.objects.values_list("user_id", flat=True)) == {engineer.pk}


def test_it_prints_every_error_and_fails(loaded: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(
        "資産番号,機器名,種別,IPアドレス,MACアドレス\r\n"
        "ME-9,モニタ,医療機器,10.1.10.21,00:11:22:33:44:55\r\n"
        "ME-10,モニタ,電子レンジ,10.1.10.70,xx\r\n".encode("cp932")
    )
    before = state()
    err = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("register_import", str(path), stdout=io.StringIO(), stderr=err)
    assert excinfo.value.returncode == 1
    lines = err.getvalue().splitlines()
    assert (
        "row 2, column IPアドレス: 10.1.10.21 is already used by Patient monitor ICU-1 "
        "(ME-000123) in 10.1.10.0/24" in lines
    )
    assert any(line.startswith("row 3, column 種別: unknown value '電子レンジ'") for line in lines)
    assert any(line.startswith("row 3, column MACアドレス: 'xx'") for line in lines)
    assert state() == before


def test_it_exports_each_format(loaded: dict[str, Any], tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("register_export", "--format", "json", stdout=out)
    assert out.getvalue().encode() == write_json(export_document())
    out = io.StringIO()
    call_command("register_export", "--format", "csv", stdout=out)
    assert out.getvalue().startswith("\ufeffasset_tag,name,kind")
    target = tmp_path / "register.xlsx"
    call_command("register_export", "--format", "xlsx", "-o", str(target), stderr=io.StringIO())
    assert target.read_bytes()[:2] == b"PK"
    with pytest.raises(CommandError, match="needs -o"):
        call_command("register_export", "--format", "xlsx")


def test_the_installed_command_exits_1_on_a_bad_file(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["MEDSHIELD_DATA_DIR"] = str(tmp_path)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    subprocess.run([str(MEDSHIELD), "migrate", "-v", "0"], env=env, check=True)
    bad = tmp_path / "bad.csv"
    bad.write_text("asset_tag,name,kind,設置場所\nPC-1,端末,pc,MAIN/A/3F/999\n", encoding="utf-8")
    proc = subprocess.run(
        [str(MEDSHIELD), "register", "import", str(bad)], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 1, proc.stderr
    # messages are in the installation's language (Japanese by default): check the column
    assert "設置場所" in proc.stderr and "MAIN/A/3F/999" in proc.stderr
    good = tmp_path / "good.csv"
    good.write_text("asset_tag,name,kind\nPC-1,端末,pc\n", encoding="utf-8")
    proc = subprocess.run(
        [str(MEDSHIELD), "register", "import", str(good)], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(
        [str(MEDSHIELD), "register", "export", "--format", "json"],
        env=env,
        capture_output=True,
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["assets"][0]["name"] == "端末"
