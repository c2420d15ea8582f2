"""Every way data leaves or enters medshield writes an audit event, with its counts."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from medshield.audit.log import cli_username
from medshield.audit.models import AuditEvent
from medshield.register.document import import_document, write_json
from tests.register.conftest import REGISTER

pytestmark = pytest.mark.django_db

CLI = cli_username()


@pytest.fixture
def register(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    import_document(copy.deepcopy(REGISTER))


def _only(action: str) -> AuditEvent:
    """The one event of ``action`` (the test client's own login is recorded too)."""
    return AuditEvent.objects.get(action=action)


def _run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


def test_register_export_page(engineer_client: Client, register: None) -> None:
    response = engineer_client.get(reverse("register-export"), {"format": "csv"})
    assert response.status_code == 200
    event = _only("export")
    assert (event.username, event.target, event.detail["format"]) == ("engineer", "register", "csv")


def test_register_export_command(tmp_path: Path, register: None) -> None:
    out = tmp_path / "register.xlsx"
    _run("register_export", "--format", "xlsx", "-o", str(out))
    event = _only("export")
    assert (event.username, event.target) == (CLI, "register")
    assert event.detail == {"format": "xlsx", "bytes": out.stat().st_size, "output": str(out)}


def test_register_import_page(engineer_client: Client, settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    data = write_json(copy.deepcopy(REGISTER))
    engineer_client.post(
        reverse("register-import"),
        {"file": SimpleUploadedFile("台帳.json", data), "format": "auto"},
    )
    preview = reverse("register-import-preview")
    engineer_client.post(preview, {"action": "preview"})
    assert not AuditEvent.objects.filter(action="import").exists()  # a preview imports nothing
    engineer_client.post(preview, {"action": "confirm"})
    event = _only("import")
    assert (event.username, event.target) == ("engineer", "register 台帳.json")
    assert event.detail["format"] == "json"
    assert event.detail["counts"]["assets"]["created"] == len(REGISTER["assets"])


def test_register_import_command(tmp_path: Path) -> None:
    path = tmp_path / "register.json"
    path.write_bytes(write_json(copy.deepcopy(REGISTER)))
    _run("register_import", str(path), "--dry-run")
    assert not AuditEvent.objects.filter(action="import").exists()
    _run("register_import", str(path))
    event = _only("import")
    assert event.username == CLI and event.target == f"register {path}"
    assert event.detail["counts"]["assets"]["created"] == len(REGISTER["assets"])


def test_diagram_download_and_command(engineer_client: Client, register: None) -> None:
    response = engineer_client.get(reverse("diagram-download", args=["network", "svg"]))
    assert response.status_code == 200
    event = _only("export")
    assert (event.username, event.target) == ("engineer", "diagram network")
    assert event.detail == {"format": "svg", "redacted": False, "bytes": len(response.content)}
    _run("diagram", "network", "--format", "dot")
    by_cli = AuditEvent.objects.get(action="export", username=CLI)
    assert by_cli.target == "diagram network" and by_cli.detail["format"] == "dot"


def test_feeds_import_command(corpus: Path) -> None:
    feed = corpus / "jvn/myjvn-hnd-3.2/getVulnDetailInfo_hnd_JVNDB-2022-000097.xml"
    _run("feeds_import", str(feed))
    event = _only("import")
    assert event.username == CLI and event.target == f"feed {feed}"
    assert event.detail["kind"] == "jvn" and event.detail["created"] == 1


def test_sbom_and_vex_import_commands(corpus: Path) -> None:
    sbom = corpus / "cyclonedx/medical-device-sbom/narrow.sbom.json"
    _run("sbom_import", str(sbom), "--product", "Acme Medical", "IP-7", "2.1")
    event = _only("import")
    assert event.target == f"SBOM {sbom}" and event.detail["action"] == "created"
    assert event.detail["components"] > 0
    _run("vex_import", str(corpus / "openvex/vexctl/demo.vex.json"))
    vex = AuditEvent.objects.filter(action="import").exclude(pk=event.pk).get()
    assert vex.username == CLI and vex.target.startswith("VEX ")
    assert vex.detail["action"] == "created" and vex.detail["created"] >= 1


def test_discovery_upload_and_command(engineer_client: Client, corpus: Path) -> None:
    scan = corpus / "nmap/python-libnmap/2_tcp_hosts.xml"
    upload = SimpleUploadedFile("scan.xml", scan.read_bytes(), content_type="text/xml")
    engineer_client.post(reverse("discovery-upload"), {"file": upload})
    event = _only("import")
    assert (event.username, event.target) == ("engineer", "discovery scan.xml")
    assert event.detail["kind"] == "nmap" and event.detail["hosts"] == 2
    _run("discover_import", str(corpus / "nmap/python-libnmap/1_os_banner_scripts.xml"))
    by_cli = AuditEvent.objects.get(action="import", username=CLI)
    assert by_cli.target.startswith("discovery ") and by_cli.detail["kind"] == "nmap"
    # the same file again changes nothing, and records nothing
    _run("discover_import", str(scan))
    assert AuditEvent.objects.filter(action="import").count() == 2
