"""The medshield command groups Django's management commands as `medshield <noun> <verb>`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from medshield.core.env import envbool, envint

MEDSHIELD = [sys.executable, "-m", "medshield.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MEDSHIELD, *args], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent
    )


def test_it_lists_commands_by_group() -> None:
    out = run("--help")
    assert out.returncode == 0
    assert "medshield register import" in out.stdout
    assert "medshield demo load" in out.stdout
    assert "medshield migrate" in out.stdout


def test_it_gives_each_verb_its_own_help() -> None:
    out = run("register", "export", "--help")
    assert out.returncode == 0
    assert out.stdout.startswith("usage: medshield register export")


def test_it_refuses_an_unknown_command_by_name() -> None:
    out = run("registr", "import")
    assert out.returncode == 2
    assert "unknown command 'registr'" in out.stderr
    out = run("register", "imprt")
    assert out.returncode == 2
    assert "'imprt'" in out.stderr and "import" in out.stderr


def test_env_helpers_refuse_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("MS_FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="MS_FLAG"):
        envbool("MS_FLAG", False)
    monkeypatch.setenv("MS_FLAG", "Yes")
    assert envbool("MS_FLAG", False) is True
    monkeypatch.setenv("MS_N", "12x")
    with pytest.raises(ImproperlyConfigured, match="MS_N"):
        envint("MS_N", 1)
