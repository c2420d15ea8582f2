"""The findings pages and ``medshield findings list``: filters, scoping, triage, exports."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import URLPattern, get_resolver

from medshield.accounts.models import Profile
from medshield.assets.models import Asset
from medshield.audit.models import AuditEvent
from medshield.findings import service
from medshield.findings.models import Finding, FindingStatus, VendorAlias
from medshield.findings.permissions import RULES

pytestmark = pytest.mark.django_db

KEYS = {"asset_tag", "cve", "advisories", "certainty", "status", "priority", "reason"}


@pytest.fixture
def matched(world: dict[str, Asset]) -> dict[str, Asset]:
    service.match_all()
    return world


def test_every_url_has_a_permission_rule() -> None:
    import medshield.findings.urls as urls

    names = {p.name for p in urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == set(RULES)
    assert get_resolver().reverse_dict  # the names resolve in the project


def test_json_carries_the_keys_for_every_finding(matched, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("findings_list", "--format", "json")
    data = json.loads(capsys.readouterr().out)
    assert len(data) == Finding.objects.count() >= 3
    for row in data:
        assert KEYS <= set(row), set(row)
        assert row["certainty"] in ("confirmed", "uncertain")
        assert isinstance(row["advisories"], list) and row["reason"]
    assert AuditEvent.objects.filter(action="export", target="findings").count() == 1


def test_cli_filters(matched, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("findings_list", "--format", "json", "--kev")
    data = json.loads(capsys.readouterr().out)
    assert [r["cve"] for r in data] == ["CVE-2021-26855"]
    call_command("findings_list", "--format", "json", "--asset", "ME-0001", "--min-priority", "0")
    data = json.loads(capsys.readouterr().out)
    assert data and {r["asset_tag"] for r in data} == {"ME-0001"}
    call_command("findings_list", "--format", "json", "--cve", "ICSMA-20-343-01")
    data = json.loads(capsys.readouterr().out)
    assert data and {r["asset_tag"] for r in data} == {"ME-0001"}
    call_command("findings_list", "--format", "json", "--certainty", "confirmed", "--kev")
    assert json.loads(capsys.readouterr().out) == []


def test_csv_neutralises_formulas(matched, capsys) -> None:  # type: ignore[no-untyped-def]
    Asset.objects.filter(asset_tag="SV-0001").update(name='=HYPERLINK("http://evil")')
    call_command("findings_list", "--format", "csv", "--asset", "SV-0001")
    out = capsys.readouterr().out
    assert "'=HYPERLINK" in out and "\n=HYPERLINK" not in out and ",=HYPERLINK" not in out


def test_kev_filter_detail_and_why(matched, engineer_client) -> None:  # type: ignore[no-untyped-def]
    page = engineer_client.get("/findings/?kev=1").content.decode()
    assert "CVE-2021-26855" in page and "ICSMA-20-343-01" not in page
    finding = Finding.objects.get(vulnerability__vuln_id="CVE-2021-26855")
    detail = engineer_client.get(f"/findings/{finding.pk}/").content.decode()
    assert "exchange_server:2016" in detail and "KEV" in detail and 'id="priority-terms"' in detail


def test_japanese_title_on_the_vulnerability_view(matched, engineer_client) -> None:  # type: ignore[no-untyped-def]
    finding = Finding.objects.filter(asset__asset_tag="SY-0001").first()
    assert finding is not None
    page = engineer_client.get(f"/findings/vuln/{finding.vulnerability.vuln_id}/").content.decode()
    assert "電子入札コアシステムにおける複数の脆弱性" in page and "SY-0001" in page
    assert "SY-0001" in engineer_client.get("/findings/asset/SY-0001/").content.decode()


def test_status_change_is_recorded(matched, engineer_client) -> None:  # type: ignore[no-untyped-def]
    finding = Finding.objects.get(vulnerability__vuln_id="CVE-2021-26855")
    response = engineer_client.post(
        f"/findings/{finding.pk}/", {"status": "in_progress", "note": "patch ordered"}
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.status == FindingStatus.IN_PROGRESS and finding.status_set_by_user
    page = engineer_client.get(f"/findings/{finding.pk}/").content.decode()
    assert "patch ordered" in page and 'id="finding-history"' in page
    bad = engineer_client.post(f"/findings/{finding.pk}/", {"status": "resolved"})
    assert bad.status_code == 200
    finding.refresh_from_db()
    assert finding.status == FindingStatus.IN_PROGRESS


def test_it_denies_status_change_without_permission(matched, client, django_user_model) -> None:  # type: ignore[no-untyped-def]
    viewer = django_user_model.objects.create_user("viewer", password="x")
    viewer.user_permissions.add(Permission.objects.get(codename="view_finding"))
    client.force_login(viewer)
    finding = Finding.objects.get(vulnerability__vuln_id="CVE-2021-26855")
    assert client.get(f"/findings/{finding.pk}/").status_code == 200
    assert client.post(f"/findings/{finding.pk}/", {"status": "mitigated"}).status_code == 403
    assert client.get("/findings/export.csv").status_code == 403
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN


def test_it_validates_ownership(matched, client, django_user_model) -> None:  # type: ignore[no-untyped-def]
    maker = django_user_model.objects.create_user("ge", password="x")
    maker.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_finding", "export_data"])
    )
    Profile.objects.update_or_create(user=maker, defaults={"manufacturer": "GE Healthcare"})
    client.force_login(maker)
    page = client.get("/findings/?status=").content.decode()
    assert "ME-0001" in page and "SV-0001" not in page
    other = Finding.objects.get(vulnerability__vuln_id="CVE-2021-26855")
    assert client.get(f"/findings/{other.pk}/").status_code == 404
    assert client.get("/findings/asset/SV-0001/").status_code == 404
    csv = client.get("/findings/export.csv?status=").content.decode("utf-8-sig")
    assert "ME-0001" in csv and "SV-0001" not in csv
    assert AuditEvent.objects.filter(action="export", username="ge").exists()


def test_crafted_filters_are_ignored(matched, engineer_client) -> None:  # type: ignore[no-untyped-def]
    for query in ("?min_priority=abc", "?status=<script>", "?sort=;drop", "?page=-1", "?kev=x"):
        assert engineer_client.get(f"/findings/{query}").status_code == 200
    assert engineer_client.get("/findings/vuln/%3Cscript%3E/").status_code == 404


def test_alias_page_adds_and_rematches(matched, engineer_client) -> None:  # type: ignore[no-untyped-def]
    Asset.objects.filter(asset_tag="ME-0002").update(manufacturer="GE医療", model="Revolution CT")
    response = engineer_client.post(
        "/findings/aliases/", {"name": "GE医療", "alias": "GE Healthcare", "note": ""}
    )
    assert response.status_code == 302
    assert Finding.objects.filter(asset__asset_tag="ME-0002").exists()
    same = engineer_client.post(
        "/findings/aliases/", {"name": "GE Healthcare", "alias": "ge healthcare"}
    )
    assert same.status_code == 200 and "is-invalid" in same.content.decode()
    assert VendorAlias.objects.count() == 1


def test_match_command_refuses_unknown_targets() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no asset with tag NOPE"):
        call_command("match", "--assets", "NOPE")
    with pytest.raises(CommandError, match="no vulnerability CVE-1999-0001"):
        call_command("match", "--vulns", "CVE-1999-0001")


def test_alias_command_confirms_and_refuses(matched, capsys) -> None:  # type: ignore[no-untyped-def]
    from django.core.management.base import CommandError

    Asset.objects.filter(asset_tag="ME-0002").update(manufacturer="GE医療", model="Revolution CT")
    call_command("findings_alias", "--add", "GE医療", "GE Healthcare")
    assert "confirmed" in capsys.readouterr().out
    assert Finding.objects.filter(asset__asset_tag="ME-0002").exists()
    with pytest.raises(CommandError, match="already treated as the same"):
        call_command("findings_alias", "--add", "GE Healthcare", "GE HealthCare")
    call_command("findings_alias", "--remove", "GE医療", "GE Healthcare")
    assert not Finding.objects.filter(asset__asset_tag="ME-0002", resolved_at=None).exists()
