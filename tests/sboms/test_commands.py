"""``medshield sbom import``, ``sbom list`` and ``vex import``: output and exit statuses."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from medshield.assets.models import Asset
from medshield.sboms.models import Sbom, VexStatement
from tests.sboms.conftest import CYCLONEDX, MEDICAL, OPENVEX

pytestmark = pytest.mark.django_db

NARROW = str(MEDICAL / "narrow.sbom.json")
INVALID = str(CYCLONEDX / "spec-testcases" / "1.6" / "invalid-hash-alg-1.6.json")
MEDSHIELD = Path(sys.executable).parent / "medshield"


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_attaches_and_lists(infusion_pumps: list[Asset]) -> None:
    out, _err = _run("sbom_import", NARROW, "--product", "Acme Medical", "IP-7", "2.1")
    assert "created, 55 components" in out and "applies to 2 asset(s)" in out
    out, _err = _run("sbom_import", NARROW, "--product", "Acme Medical", "IP-7", "2.1")
    assert "unchanged" in out
    out, _err = _run("sbom_list")
    assert "55 components" in out and "product Acme Medical / IP-7 / 2.1" in out
    assert "ME-0001, ME-0002" in out and "ME-0003" not in out


def test_it_attaches_to_assets_by_tag(infusion_pumps: list[Asset]) -> None:
    out, _err = _run("sbom_import", NARROW, "--asset", "ME-0003", "--asset", "ME-0001")
    assert "applies to 2 asset(s)" in out
    assert set(Sbom.objects.get().assets.values_list("asset_tag", flat=True)) == {
        "ME-0001",
        "ME-0003",
    }


def test_a_refused_file_exits_1_with_the_reasons() -> None:
    with pytest.raises(CommandError) as refused:
        _run("sbom_import", INVALID)
    assert refused.value.returncode == 1
    assert "nothing was imported" in str(refused.value)
    assert Sbom.objects.count() == 0


def test_an_unknown_asset_exits_1(infusion_pumps: list[Asset]) -> None:
    with pytest.raises(CommandError) as refused:
        _run("sbom_import", NARROW, "--asset", "ME-9999")
    assert refused.value.returncode == 1


def test_vex_import() -> None:
    out, _err = _run("vex_import", str(OPENVEX / "vexctl" / "demo.vex.json"))
    assert "statements 2 created" in out
    assert set(VexStatement.objects.values_list("status", flat=True)) == {"resolved"}
    with pytest.raises(CommandError) as refused:
        _run("vex_import", NARROW)
    assert refused.value.returncode == 1


def test_an_empty_list() -> None:
    assert _run("sbom_list")[0].strip() == "no SBOMs imported"


@pytest.mark.skipif(not MEDSHIELD.exists(), reason="the medshield script is not installed")
def test_the_installed_command_exits_1_on_a_refused_file(tmp_path: Path) -> None:
    env = {"MEDSHIELD_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([MEDSHIELD, "migrate", "-v0"], env=env, check=True, timeout=120)
    done = subprocess.run(
        [MEDSHIELD, "sbom", "import", INVALID],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "'FOO' is not one of" in done.stderr
    ok = subprocess.run(
        [MEDSHIELD, "vex", "import", str(OPENVEX / "vexctl" / "demo.vex.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
