"""``medshield demo load`` fills the register through the importer, once."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from medshield.assets.models import Asset
from medshield.core.models import ObjectChange
from medshield.demo.generator import build_demo_document
from medshield.network.models import Cable, ExternalConnection, IPAddress, Subnet
from medshield.register.exporter import export_document


@pytest.mark.django_db
def test_demo_load_fills_the_register_once() -> None:
    out = StringIO()
    call_command("demo_load", stdout=out, stderr=StringIO())
    assert Asset.objects.count() >= 300
    assert Asset.objects.filter(is_virtual=True, host__isnull=False).exists()
    assert Cable.objects.count() > 200
    assert IPAddress.objects.filter(subnet__isnull=True).count() == 0
    assert ExternalConnection.objects.filter(kind="remote_maintenance").count() >= 6
    assert "assets" in out.getvalue()

    counts = (Asset.objects.count(), Subnet.objects.count(), ObjectChange.objects.count())
    out = StringIO()
    call_command("demo_load", "--if-empty", stdout=out, stderr=StringIO())
    assert "already holds" in out.getvalue()
    assert counts == (Asset.objects.count(), Subnet.objects.count(), ObjectChange.objects.count())


@pytest.mark.django_db
def test_loading_twice_changes_nothing_and_exports_the_same_document() -> None:
    call_command("demo_load", "--seed", "4", stdout=StringIO(), stderr=StringIO())
    history = ObjectChange.objects.count()
    call_command("demo_load", "--seed", "4", stdout=StringIO(), stderr=StringIO())
    assert ObjectChange.objects.count() == history
    assert export_document() == build_demo_document(seed=4)


@pytest.mark.django_db
def test_output_writes_json_without_loading(tmp_path: Path) -> None:
    target = tmp_path / "demo.json"
    call_command(
        "demo_load",
        "--assets",
        "600",
        "--output",
        str(target),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert doc["format"] == "medshield-register"
    assert 550 <= len(doc["assets"]) <= 650
    assert not Asset.objects.exists()


@pytest.mark.django_db
def test_the_demo_brings_evidence_that_discovery_reconciles() -> None:
    from io import StringIO

    from django.core.management import call_command

    from medshield.discovery.models import ObservationSource

    call_command("demo_load", stdout=StringIO(), stderr=StringIO())
    assert ObservationSource.objects.count() == 2
    out = StringIO()
    call_command("discover_drift", "--format", "json", stdout=out)
    import json

    drift = json.loads(out.getvalue())
    assert len(drift["unknown_hosts"]) == 3 and len(drift["undeclared_flows"]) == 1
