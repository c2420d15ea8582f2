"""The matching service: findings per asset, priority, VEX, user status, incremental re-match."""

from __future__ import annotations

import json
import uuid

import pytest

from medshield.assets.models import Asset
from medshield.findings import service
from medshield.findings.models import Finding, FindingStatus, VendorAlias
from medshield.findings.priority import PriorityInput, priority
from medshield.network.choices import ConnectionKind, ConnectionMethod
from medshield.network.models import ExternalConnection
from medshield.sboms.importers import import_sbom, import_vex
from tests.findings.conftest import EXCHANGE_CPE

pytestmark = pytest.mark.django_db


def tags_for(vuln_id: str) -> set[str]:
    return set(
        Finding.objects.filter(vulnerability__vuln_id=vuln_id).values_list(
            "asset__asset_tag", flat=True
        )
    )


def test_it_matches_each_feed_to_its_asset(world: dict[str, Asset]) -> None:
    stats = service.match_all()
    assert stats.created >= 3 and stats.assets == 4
    assert tags_for("CVE-2021-26855") == {"SV-0001"}
    exchange = Finding.objects.get(vulnerability__vuln_id="CVE-2021-26855")
    assert exchange.kev and exchange.epss == pytest.approx(0.97)
    assert exchange.certainty == "uncertain"  # by name only: no CPE on the register entry
    assert "exchange_server:2016" in exchange.reason
    jvn = Finding.objects.filter(asset__asset_tag="SY-0001").select_related("vulnerability")
    assert jvn and all("JVNDB-2022-000097" in f.advisories for f in jvn)
    assert all(f.vulnerability.title_ja for f in jvn)
    ct = Finding.objects.filter(asset__asset_tag="ME-0001")
    assert ct and all("ICSMA-20-343-01" in f.advisories for f in ct)
    assert not Finding.objects.filter(asset__asset_tag="ME-0002").exists()


def test_it_confirms_through_an_sbom_cpe_and_explains_priority(world: dict[str, Asset]) -> None:
    sbom = {
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "components": [{"type": "application", "name": "exchange_server", "version": "2016",
                        "bom-ref": "ex", "cpe": EXCHANGE_CPE}],
    }  # fmt: skip
    import_sbom(json.dumps(sbom).encode(), asset_tags=["ME-0002"])
    service.match_all()
    finding = Finding.objects.get(asset__asset_tag="ME-0002")
    assert finding.certainty == "confirmed" and finding.component_label == "exchange_server 2016"
    # CVSS 9.8 -> 39, KEV 20, EPSS 0.97 -> 15, life-sustaining 15 = 89 (no exposure yet).
    assert finding.priority == 89
    terms = {t[0] for t in finding.priority_explanation}
    assert "known exploited (CISA KEV)" in terms
    # Put the pump behind a remote-maintenance line: exposure raises the priority.
    line = ExternalConnection.objects.create(
        name="Vendor line", kind=ConnectionKind.values[0], method=ConnectionMethod.values[0]
    )
    line.set_assets(through=[], reaches=[world["ME-0002"]])
    service.refresh_priorities()
    finding.refresh_from_db()
    assert finding.exposed and finding.priority == 99


def test_priority_formula_is_clamped_and_counts_uncertainty() -> None:
    from decimal import Decimal

    top = PriorityInput(Decimal("10.0"), None, True, 1.0, "life_sustaining", ("x",), False)
    assert priority(top)[0] == 100
    low = PriorityInput(None, None, False, None, "", (), True)
    score, terms = priority(low)
    assert score == 10 and [t[1] for t in terms] == [20, -10]


def test_a_user_status_survives_rematching_and_vanished_findings_close(
    world: dict[str, Asset],
) -> None:
    service.match_all()
    finding = Finding.objects.get(vulnerability__vuln_id="CVE-2021-26855")
    finding.set_status(FindingStatus.ACCEPTED_RISK, "isolated mail server")
    service.match_all()
    finding.refresh_from_db()
    assert finding.status == FindingStatus.ACCEPTED_RISK and finding.resolved_at is None
    ct = Finding.objects.filter(asset__asset_tag="ME-0001").first()
    assert ct is not None and ct.status == FindingStatus.OPEN
    # The CT is upgraded out of the advisory's product list: its findings close, with a date.
    Asset.objects.filter(asset_tag="ME-0001").update(model="Other CT")
    stats = service.rematch_assets([world["ME-0001"].pk])
    assert stats.closed >= 1
    ct.refresh_from_db()
    assert ct.status == FindingStatus.RESOLVED and ct.resolved_at is not None
    # The accepted-risk finding keeps its status even when it no longer matches.
    Asset.objects.filter(asset_tag="SV-0001").update(model="Mailer")
    service.rematch_assets([world["SV-0001"].pk])
    finding.refresh_from_db()
    assert finding.status == FindingStatus.ACCEPTED_RISK and finding.resolved_at is not None


def test_a_manufacturer_vex_closes_the_finding_with_its_justification(
    world: dict[str, Asset],
) -> None:
    sbom = {
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "components": [{"type": "application", "name": "exchange_server", "version": "2016",
                        "bom-ref": "ex", "cpe": EXCHANGE_CPE}],
    }  # fmt: skip
    import_sbom(json.dumps(sbom).encode(), asset_tags=["ME-0002"])
    vex = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://acme.example/vex/1",
        "author": "Acme PSIRT",
        "timestamp": "2026-11-01T00:00:00Z",
        "version": 1,
        "statements": [{
            "vulnerability": {"name": "CVE-2021-26855"},
            "products": [{"@id": EXCHANGE_CPE}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
        }],
    }  # fmt: skip
    import_vex(json.dumps(vex).encode())
    service.match_all()
    finding = Finding.objects.get(asset__asset_tag="ME-0002")
    assert finding.status == FindingStatus.NOT_AFFECTED
    assert finding.match_status == "not_affected"
    assert "vulnerable_code_not_in_execute_path" in finding.justification
    assert "VEX" in finding.sources


def test_a_confirmed_alias_makes_a_name_match(world: dict[str, Asset]) -> None:
    Asset.objects.filter(asset_tag="ME-0002").update(manufacturer="GE医療", model="Revolution CT")
    service.match_all()
    assert not Finding.objects.filter(asset__asset_tag="ME-0002").exists()
    VendorAlias.objects.create(name="GE医療", alias="GE Healthcare")
    stats = service.rematch_names(["GE医療", "GE Healthcare"])
    assert stats.created >= 1
    assert Finding.objects.filter(asset__asset_tag="ME-0002").exists()


def test_an_alias_finds_nvd_records_under_every_spelling(world: dict[str, Asset]) -> None:
    """NVD candidates are looked up by hashed names: each alias's spelling is looked up too."""
    Asset.objects.filter(asset_tag="ME-0002").update(
        manufacturer="Acme", model="Exchange Server", software_version="2016"
    )
    service.match_all()
    assert tags_for("CVE-2021-26855") == {"SV-0001"}
    # "acme" sorts first: the group's representative is not the name NVD uses.
    VendorAlias.objects.create(name="Acme", alias="Microsoft")
    service.rematch_names(["Acme", "Microsoft"])
    assert tags_for("CVE-2021-26855") == {"SV-0001", "ME-0002"}


def test_rematch_pending_follows_register_and_feed_changes(
    world: dict[str, Asset], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    service.match_all()
    assert service.rematch_pending().created == 0  # nothing changed since
    pump = world["ME-0002"]
    pump.manufacturer, pump.model, pump.software_version = "Microsoft", "Exchange Server", "2016"
    pump.save()  # a history row, as the asset form writes it
    stats = service.rematch_pending()
    assert stats.created == 1 and tags_for("CVE-2021-26855") == {"SV-0001", "ME-0002"}
    # A new EPSS file changes the scores: the priority follows without re-matching.
    before = Finding.objects.get(asset=pump).priority
    (tmp_path / "e2.csv").write_text(
        "#model_version:v2025.03.14,score_date:2026-11-21T00:00:00+0000\n"
        "cve,epss,percentile\nCVE-2021-26855,0.01000,0.50000\n"
    )
    from medshield.vulns.importers import import_path

    import_path(str(tmp_path / "e2.csv"))
    service.rematch_pending()
    after = Finding.objects.get(asset=pump)
    assert after.epss == pytest.approx(0.01) and after.priority < before


def test_the_signal_rematches_after_commit(
    world: dict[str, Asset], django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection

    service.match_all()
    connection.run_on_commit.clear()  # the fixture's own saves are not what is tested here
    pump = world["ME-0002"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        pump.manufacturer, pump.model = "GE Healthcare", "Revolution CT"
        pump.save()
        pump.save()
    assert len(callbacks) == 1  # one re-match per transaction, however many saves
    assert Finding.objects.filter(asset=pump).exists()


def test_a_feed_import_rematches_only_its_vulnerabilities(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from medshield.vulns.importers import import_path
    from tests.conftest import CORPUS
    from tests.findings.conftest import make_assets

    make_assets()
    service.match_all()
    assert not Finding.objects.exists()
    import_path(str(CORPUS / "csaf" / "cisa-icsma" / "icsma-20-343-01.json"))
    stats = service.rematch_pending()
    assert stats.created >= 1
    assert set(Finding.objects.values_list("asset__asset_tag", flat=True)) == {"ME-0001"}
    # Only the CT's identity was built: the other devices cannot match these rules.
    assert stats.identities == 1
    # The same vulnerabilities re-matched directly change nothing.
    again = service.rematch_vulnerabilities(
        Finding.objects.values_list("vulnerability__vuln_id", flat=True)
    )
    assert again.created == 0 and again.closed == 0 and again.unchanged == stats.created


def test_a_status_set_by_a_person_keeps_its_history(db) -> None:  # type: ignore[no-untyped-def]
    """A person's status is a triage row saved through the ORM: it logs a history row."""
    from medshield.core.models import ObjectChange
    from medshield.findings.models import Triage
    from medshield.vulns.models import Vulnerability
    from tests.findings.conftest import store_finding

    asset = Asset.objects.create(asset_tag="ME-9", name="pump", kind="medical_device")
    vuln = Vulnerability.objects.create(vuln_id="CVE-2024-0001")
    finding = store_finding(asset, vuln, sources=["nvd", "csaf"])
    finding.set_status("in_progress", "vendor contacted")
    triage = Triage.objects.get(asset=asset, vulnerability=vuln)
    assert ObjectChange.objects.filter(object_id=triage.pk).count() >= 1
    finding.refresh_from_db()
    assert finding.status == "in_progress" and finding.status_note == "vendor contacted"
