"""Findings stored once per identity: assets sharing an SBOM share the verdict, not the triage."""

from __future__ import annotations

import json
import uuid

import pytest

from medshield.assets.choices import AssetKind, Criticality
from medshield.assets.models import Asset
from medshield.findings import service
from medshield.findings.models import Finding, FindingStatus, Verdict
from medshield.findings.priority import PriorityInput, priority
from medshield.network.choices import ConnectionKind, ConnectionMethod
from medshield.network.models import ExternalConnection
from medshield.sboms.importers import import_sbom
from tests.findings.conftest import EXCHANGE_CPE

pytestmark = pytest.mark.django_db

PRODUCT = ("Acme", "Infusion 9", "3.1")


@pytest.fixture
def twins(world: dict[str, Asset]) -> dict[str, Asset]:
    """Two pumps of one product (different criticality) and the product's SBOM with Exchange."""
    pumps = {
        tag: Asset.objects.create(
            asset_tag=tag,
            name=tag,
            kind=AssetKind.MEDICAL_DEVICE,
            manufacturer=PRODUCT[0],
            model=PRODUCT[1],
            software_version=PRODUCT[2],
            criticality=crit,
        )
        for tag, crit in (
            ("PU-0001", Criticality.LIFE_SUSTAINING),
            ("PU-0002", Criticality.SUPPORT),
        )
    }
    sbom = {
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "components": [{"type": "application", "name": "exchange_server", "version": "2016",
                        "bom-ref": "ex", "cpe": EXCHANGE_CPE}],
    }  # fmt: skip
    import_sbom(json.dumps(sbom).encode(), product=PRODUCT)
    service.match_all()
    return pumps


def finding_of(tag: str) -> Finding:
    return Finding.objects.get(asset__asset_tag=tag, vulnerability__vuln_id="CVE-2021-26855")


def test_it_stores_one_verdict_for_assets_sharing_an_sbom(twins: dict[str, Asset]) -> None:
    one, two = finding_of("PU-0001"), finding_of("PU-0002")
    assert one.verdict_id == two.verdict_id and one.pk != two.pk
    assert one.component_label == two.component_label == "exchange_server 2016"
    assert one.certainty == two.certainty == "confirmed"
    # The Exchange server's own device identity is another verdict; the SBOM's component, one.
    stored = Verdict.objects.filter(vulnerability__vuln_id="CVE-2021-26855")
    assert stored.count() == 2


def test_each_asset_keeps_its_own_triage_through_a_rematch(twins: dict[str, Asset]) -> None:
    finding_of("PU-0001").set_status(FindingStatus.ACCEPTED_RISK, "isolated network")
    one, two = finding_of("PU-0001"), finding_of("PU-0002")
    assert one.status == FindingStatus.ACCEPTED_RISK and one.status_note == "isolated network"
    assert two.status == FindingStatus.OPEN and not two.status_set_by_user
    stats = service.match_all()
    assert stats.created == 0 and stats.closed == 0
    assert finding_of("PU-0001").status == FindingStatus.ACCEPTED_RISK
    assert finding_of("PU-0002").status == FindingStatus.OPEN
    # One pump gets new firmware: it leaves the SBOM's product, its finding closes with a date
    # and keeps the person's status; its twin's finding is untouched.
    Asset.objects.filter(asset_tag="PU-0001").update(software_version="3.2")
    stats = service.rematch_assets([twins["PU-0001"].pk])
    assert stats.closed == 1
    one, two = finding_of("PU-0001"), finding_of("PU-0002")
    assert one.status == FindingStatus.ACCEPTED_RISK and one.resolved_at is not None
    assert two.status == FindingStatus.OPEN and two.resolved_at is None


def test_the_priority_adds_each_assets_criticality_and_exposure(twins: dict[str, Asset]) -> None:
    one, two = finding_of("PU-0001"), finding_of("PU-0002")
    # CVSS 9.8 -> 39, KEV 20, EPSS 0.97 -> 15: 74, then life-sustaining +15 and support +3.
    assert (one.priority, two.priority) == (89, 77)
    line = ExternalConnection.objects.create(
        name="Vendor line", kind=ConnectionKind.values[0], method=ConnectionMethod.values[0]
    )
    line.set_assets(through=[], reaches=[twins["PU-0002"]])
    one, two = finding_of("PU-0001"), finding_of("PU-0002")
    assert (one.priority, two.priority) == (89, 87) and two.exposed and not one.exposed
    for f in (one, two):
        expected = priority(
            PriorityInput(
                f.cvss3_score,
                f.cvss4_score,
                f.kev,
                f.epss,
                f.asset.criticality,
                ("Vendor line",) if f.exposed else (),
                f.certainty == "uncertain",
            )
        )
        assert (f.priority, f.priority_explanation) == expected
    # The list filters on the per-asset priority.
    tags = set(
        Finding.objects.filter(
            priority__gte=88, vulnerability__vuln_id="CVE-2021-26855"
        ).values_list("asset__asset_tag", flat=True)
    )
    assert tags == {"PU-0001"}
