"""The demo evidence shows exactly its planted drift after ``medshield demo load``."""

from __future__ import annotations

import importlib.util
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from medshield.discovery.drift import compute_drift

DEMO = Path(__file__).resolve().parents[2] / "medshield" / "discovery" / "demo"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("discovery_demo_generate", DEMO / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode, before = True, sys.dont_write_bytecode
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = before
    return module


def test_the_committed_files_are_what_the_script_writes() -> None:
    scan, conn = _generator().build()
    assert (DEMO / "demo-nmap-scan.xml").read_text(encoding="utf-8") == scan
    assert (DEMO / "demo-zeek-conn.log").read_text(encoding="utf-8") == conn
    assert len(scan.encode()) < 200_000


@pytest.mark.django_db
def test_demo_drift() -> None:
    call_command("demo_load", stdout=StringIO(), stderr=StringIO())
    out, err = StringIO(), StringIO()
    files = sorted(str(p) for p in DEMO.iterdir())
    call_command("discover_import", *files, stdout=out, stderr=err)
    assert "skipping" in err.getvalue()  # generate.py, named by the shell glob
    drift = compute_drift()
    assert [i.data["ip"] for i in drift.unknown_hosts] == [
        "10.40.0.201",
        "10.40.7.201",
        "10.40.10.201",
    ]
    assert [i.key for i in drift.undeclared_flows] == ["ME-00025>MS-0002:445/tcp"]
    assert drift.silent_assets == [] and drift.changed_facts == []
