"""VEX statements from OpenVEX and CycloneDX VEX, normalised to one status vocabulary."""

from __future__ import annotations

import json

import pytest
from django.contrib.contenttypes.models import ContentType

from medshield.core.models import ObjectChange
from medshield.register.errors import ImportRejected
from medshield.sboms.importers import detect, import_sbom, import_vex
from medshield.sboms.models import VexDocument, VexStatement
from tests.sboms.conftest import CYCLONEDX, OPENVEX, state

pytestmark = pytest.mark.django_db

CISA_1 = CYCLONEDX / "bom-examples" / "VEX" / "CISA-Use-Cases" / "Case-1"
USE_CASES = CYCLONEDX / "bom-examples" / "VEX" / "Use-Cases"


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("vex-affected.json", "exploitable"),
        ("vex-fixed.json", "resolved"),
        ("vex-not_affected.json", "not_affected"),
        ("vex-under_investigation.json", "in_triage"),
    ],
)
def test_cyclonedx_vex_states_are_kept(name: str, status: str) -> None:
    data = (CISA_1 / name).read_bytes()
    assert detect(data) == "cyclonedx-vex"
    result = import_vex(data, filename=name)
    statement = VexStatement.objects.get()
    assert result.document.format == "cyclonedx-vex"
    assert (statement.vulnerability_id, statement.status) == ("CVE-2021-44228", status)
    assert statement.original_status == status
    assert statement.product_ref.startswith("product-")


def test_a_cyclonedx_not_affected_statement_keeps_its_reasons() -> None:
    import_vex((CISA_1 / "vex-not_affected.json").read_bytes())
    statement = VexStatement.objects.get()
    assert statement.justification == "code_not_present"
    assert statement.response == ["will_not_fix"]
    assert "Class with vulnerable code was removed" in statement.impact_statement
    assert statement.timestamp is not None  # the document's, as the analysis has none


def test_bom_links_resolve_to_stored_components() -> None:
    # A standalone VEX names components of other BOMs by BOM-Link; one statement per target.
    import_vex((USE_CASES / "Case-6" / "vex.json").read_bytes())
    refs = set(VexStatement.objects.values_list("product_ref", flat=True))
    assert "urn:cdx:2c385cf7-e1ee-46e9-a51c-13de1ecb380a/1#acme-product-1" in refs
    assert VexStatement.objects.filter(status="not_affected").count() == len(refs) >= 3


@pytest.mark.parametrize(
    ("name", "original", "status"),
    [
        ("csaf-example-openvex.json", "fixed", "resolved"),
        ("document1.vex.json", "under_investigation", "in_triage"),
        ("v001-1.vex.json", "under_investigation", "in_triage"),
    ],
)
def test_openvex_statuses_are_normalised(name: str, original: str, status: str) -> None:
    import_vex((OPENVEX / "vexctl" / name).read_bytes())
    statement = VexStatement.objects.get()
    assert (statement.original_status, statement.status) == (original, status)


def test_openvex_affected_and_not_affected_map_as_the_cross_format_table_says() -> None:
    doc = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.org/vex/pump-1",
        "author": "Acme Medical PSIRT",
        "timestamp": "2026-01-10T09:00:00.123456789+09:00",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2024-0001", "aliases": ["JVNDB-2024-000001"]},
                "products": [
                    {
                        "@id": "pkg:generic/acme/ip-7@2.1",
                        "subcomponents": [{"@id": "pkg:generic/openssl@1.1.1k"}],
                    }
                ],
                "status": "affected",
                "action_statement": "Update the firmware to 2.2",
            },
            {
                "vulnerability": {"name": "CVE-2024-0002"},
                "products": [{"@id": "pkg:generic/acme/ip-7@2.1"}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
            },
        ],
    }
    result = import_vex(json.dumps(doc).encode())
    assert result.created == 2 and result.document.author == "Acme Medical PSIRT"
    affected = VexStatement.objects.get(vulnerability_id="CVE-2024-0001")
    assert affected.status == "exploitable" and affected.original_status == "affected"
    assert affected.subcomponent_ref == "pkg:generic/openssl@1.1.1k"
    assert affected.purl == "pkg:generic/openssl@1.1.1k"
    assert affected.aliases == ["JVNDB-2024-000001"]
    assert affected.action_statement == "Update the firmware to 2.2"
    assert affected.timestamp is not None and affected.timestamp.microsecond == 123456
    fine = VexStatement.objects.get(vulnerability_id="CVE-2024-0002")
    assert fine.status == "not_affected"
    assert fine.justification == "vulnerable_code_not_in_execute_path"

    # Version 2 of the same document: the status changes in place and the history shows it.
    doc["version"] = 2
    doc["statements"][0]["status"] = "fixed"
    del doc["statements"][0]["action_statement"]
    doc["statements"].pop()
    again = import_vex(json.dumps(doc).encode())
    assert (again.action, again.updated, again.deleted) == ("updated", 1, 1)
    affected.refresh_from_db()
    assert affected.status == "resolved"
    change = ObjectChange.objects.filter(
        object_type=ContentType.objects.get_for_model(VexStatement),
        object_id=affected.pk,
        action="update",
    ).get()
    assert change.changes["status"] == ["exploitable", "resolved"]
    assert VexStatement.objects.count() == 1

    doc["version"] = 1
    before = state()
    with pytest.raises(ImportRejected, match="older than the stored version 2"):
        import_vex(json.dumps(doc).encode())
    assert state() == before


def test_reimporting_a_vex_changes_nothing() -> None:
    data = (USE_CASES / "Case-6" / "vex.json").read_bytes()
    import_vex(data)
    before = state()
    result = import_vex(data)
    assert result.action == "unchanged" and result.unchanged == VexStatement.objects.count()
    assert state() == before


def test_an_sbom_with_analyses_stores_its_vex_too() -> None:
    path = CYCLONEDX / "spec-testcases" / "1.6" / "valid-vulnerability-1.6.json"
    result = import_sbom(path.read_bytes())
    assert result.vex is not None and result.vex.created >= 1
    document = VexDocument.objects.get()
    assert document.sbom == result.sbom
    assert set(VexStatement.objects.values_list("status", flat=True)) <= set(
        [
            "resolved",
            "resolved_with_pedigree",
            "exploitable",
            "in_triage",
            "false_positive",
            "not_affected",
        ]
    )


def test_the_wrong_importer_says_which_to_use() -> None:
    with pytest.raises(ImportRejected, match="vex import"):
        import_sbom((CISA_1 / "vex-fixed.json").read_bytes())
    with pytest.raises(ImportRejected, match="sbom import"):
        import_vex((CYCLONEDX / "medical-device-sbom" / "narrow.sbom.json").read_bytes())
    assert VexDocument.objects.count() == 0
