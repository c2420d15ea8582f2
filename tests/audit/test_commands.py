"""``medshield audit export`` and ``medshield audit purge``: output, exit statuses, records."""

from __future__ import annotations

import csv
import datetime
import getpass
import io
import json
import stat
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from medshield.audit.models import AuditEvent
from medshield.core.models import ObjectChange
from tests.audit.conftest import change_at, event_at

pytestmark = pytest.mark.django_db

T0 = timezone.make_aware(datetime.datetime(2026, 4, 1, 9, 0))
CLI = f"cli:{getpass.getuser()}"


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_export_writes_csv_to_stdout_and_records_itself() -> None:
    event_at(T0, "login", username="sato")
    event_at(T0 + datetime.timedelta(days=1), "denied", username="=evil()")
    out, _err = _run("audit_export", "--until", "2026-04-02")
    rows = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"))))
    assert [(r["action"], r["user"]) for r in rows] == [("denied", "'=evil()"), ("login", "sato")]
    event = AuditEvent.objects.get(action="export")
    assert event.username == CLI and event.target == "audit log"
    assert event.detail == {"format": "csv", "filters": {"until": "2026-04-02"}, "entries": 2}


def test_export_writes_json_to_an_owner_only_file(tmp_path: Path) -> None:
    event_at(T0, "export", username="suzuki", target="register")
    change_at(T0, user_name="suzuki", object_repr="PACS", action="delete")
    event_at(T0, "login", username="sato")
    target = tmp_path / "audit.json"
    _out, err = _run("audit_export", "--format", "json", "--user", "suzuki", "-o", str(target))
    assert "wrote 2 entries" in err
    data = json.loads(target.read_text(encoding="utf-8"))
    # at the same instant, the event sorts after (newer than) the change
    assert [(d["kind"], d["action"]) for d in data] == [("event", "export"), ("change", "delete")]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_export_refuses_bad_options() -> None:
    with pytest.raises(CommandError, match="not a date"):
        _run("audit_export", "--since", "April")
    with pytest.raises(CommandError, match="before --since"):
        _run("audit_export", "--since", "2026-04-02", "--until", "2026-04-01")
    with pytest.raises(CommandError, match="invalid choice"):
        _run("audit_export", "--action", "drop")
    assert not AuditEvent.objects.exists()


def test_purge_removes_old_events_only_and_records_itself() -> None:
    old = event_at(T0 - datetime.timedelta(days=400), "login", username="sato")
    older = event_at(T0 - datetime.timedelta(days=800), "export", username="sato")
    recent = event_at(T0, "login", username="suzuki")
    history = change_at(T0 - datetime.timedelta(days=900))
    out, _err = _run("audit_purge", "--before", "2026-01-01", "--dry-run")
    assert out.strip() == "2 audit events before 2026-01-01 would be removed"
    assert AuditEvent.objects.count() == 3
    out, _err = _run("audit_purge", "--before", "2026-01-01")
    assert out.strip() == "removed 2 audit events recorded before 2026-01-01"
    left = set(AuditEvent.objects.values_list("pk", flat=True))
    assert old.pk not in left and older.pk not in left and recent.pk in left
    purge = AuditEvent.objects.get(action="purge")
    assert purge.username == CLI and purge.detail == {"before": "2026-01-01", "removed": 2}
    assert ObjectChange.objects.filter(pk=history.pk).exists()  # history is never purged
    # and the guard is closed again: the purge's own record cannot be deleted
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        purge.delete()


def test_purge_refuses_a_future_date_or_none() -> None:
    event_at(T0, "login", username="sato")
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(CommandError, match="in the future"):
        _run("audit_purge", "--before", tomorrow.isoformat())
    with pytest.raises(CommandError, match="not a date"):
        _run("audit_purge", "--before", "soon")
    with pytest.raises(CommandError, match="--before"):
        _run("audit_purge")
    assert AuditEvent.objects.count() == 1
