"""The audit log and the history refuse UPDATE and DELETE in the database itself.

Run on SQLite and on PostgreSQL (DATABASE_URL): each database has its own triggers.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from medshield.assets.models import Asset
from medshield.audit.guard import MAINTENANCE_TABLE, maintenance
from medshield.audit.log import record
from medshield.audit.models import AuditAction, AuditEvent
from medshield.core.actor import acting_as, actor_for_user
from medshield.core.models import ObjectChange

pytestmark = pytest.mark.django_db

REFUSED = "append-only"


@pytest.fixture
def event() -> AuditEvent:
    return record(AuditAction.LOGIN, username="alice", target="login form", detail={"a": 1})


@pytest.fixture
def change(engineer: Any) -> ObjectChange:
    with acting_as(actor_for_user(engineer)):
        Asset.objects.create(asset_tag="ME-1", name="輸液ポンプ")
    return ObjectChange.objects.get()


def _refused(action: Any) -> None:
    """``action`` fails with the triggers' message and leaves the transaction usable."""
    with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
        action()


def _sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_the_orm_cannot_change_or_delete_an_audit_event(event: AuditEvent) -> None:
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(username="mallory"))
    event.username = "mallory"
    _refused(event.save)
    _refused(event.delete)
    _refused(lambda: AuditEvent.objects.all().delete())
    assert AuditEvent.objects.get(pk=event.pk).username == "alice"


def test_raw_sql_cannot_change_or_delete_an_audit_event(event: AuditEvent) -> None:
    _refused(lambda: _sql("UPDATE audit_auditevent SET username = %s", ["mallory"]))
    _refused(lambda: _sql("UPDATE audit_auditevent SET detail = %s", ["{}"]))
    _refused(lambda: _sql("DELETE FROM audit_auditevent"))
    _refused(lambda: _sql("DELETE FROM audit_auditevent WHERE id = %s", [event.pk]))
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.username, stored.detail) == ("alice", {"a": 1})


def test_the_orm_cannot_change_or_delete_history(change: ObjectChange) -> None:
    _refused(lambda: ObjectChange.objects.update(object_repr="forged"))
    _refused(lambda: ObjectChange.objects.update(user_name="someone else"))
    change.changes = {}
    _refused(change.save)
    _refused(change.delete)
    _refused(lambda: ObjectChange.objects.all().delete())
    stored = ObjectChange.objects.get()
    assert stored.object_repr.startswith("輸液ポンプ") and stored.changes


def test_raw_sql_cannot_change_or_delete_history(change: ObjectChange) -> None:
    _refused(lambda: _sql("UPDATE core_objectchange SET action = %s", ["delete"]))
    _refused(lambda: _sql("DELETE FROM core_objectchange"))
    # Pointing a change at another login is refused too; only detaching one is allowed.
    _refused(lambda: _sql("UPDATE core_objectchange SET user_id = user_id"))
    _refused(
        lambda: _sql("UPDATE core_objectchange SET user_id = NULL, object_repr = %s", ["forged"])
    )
    assert ObjectChange.objects.get().action == "create"


def test_deleting_a_login_keeps_the_changes_it_made(change: ObjectChange, engineer: Any) -> None:
    assert change.user_id == engineer.pk
    engineer.delete()  # on_delete=SET_NULL: the one UPDATE the history allows
    stored = ObjectChange.objects.get()
    assert stored.user_id is None and stored.user_name == "engineer"
    # Once detached, the row cannot be changed again, not even "to NULL".
    _refused(lambda: _sql("UPDATE core_objectchange SET user_id = NULL"))


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no TRUNCATE (DELETE is tested above)"
)
def test_postgresql_refuses_truncate(event: AuditEvent, change: ObjectChange) -> None:
    # The rows were inserted in this test's transaction: run their deferred foreign-key checks
    # now, or PostgreSQL refuses TRUNCATE for that reason instead of the trigger's.
    _sql("SET CONSTRAINTS ALL IMMEDIATE")
    _refused(lambda: _sql("TRUNCATE audit_auditevent"))
    _refused(lambda: _sql("TRUNCATE core_objectchange"))
    _refused(lambda: _sql("TRUNCATE auth_user CASCADE"))  # would cascade into the history
    assert AuditEvent.objects.count() == 1 and ObjectChange.objects.count() == 1


def _maintenance_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {MAINTENANCE_TABLE}")  # noqa: S608
        return int(cursor.fetchone()[0])


def test_maintenance_lets_deletes_through_only_inside_it(event: AuditEvent) -> None:
    with maintenance("test"):
        assert _maintenance_rows() == 1
        assert AuditEvent.objects.filter(pk=event.pk).delete()[0] == 1
    assert _maintenance_rows() == 0
    other = record(AuditAction.LOGOUT, username="alice")
    _refused(other.delete)
    # Updates stay refused even in maintenance.
    with pytest.raises(IntegrityError, match=REFUSED), maintenance("test"):
        AuditEvent.objects.update(username="mallory")
    assert _maintenance_rows() == 0


def test_a_failed_maintenance_rolls_its_deletes_back(event: AuditEvent) -> None:
    with pytest.raises(RuntimeError), maintenance("test"):
        AuditEvent.objects.all().delete()
        raise RuntimeError("half-way")
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert _maintenance_rows() == 0


def test_the_sqlite_trigger_names_every_history_column() -> None:
    """A column added to the history needs a migration recreating the SQLite trigger."""
    migration = importlib.import_module("medshield.audit.migrations.0003_append_only")
    columns = {f.column for f in ObjectChange._meta.concrete_fields}
    assert {*migration.OBJECTCHANGE_COLUMNS, "user_id"} == columns


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_the_database(engineer: Any) -> None:
    """``flush`` (the test runner's reset after each transactional test) opens the guard."""
    record(AuditAction.LOGIN, user=engineer)
    with acting_as(actor_for_user(engineer)):
        Asset.objects.create(asset_tag="ME-9", name="x")
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 0 and ObjectChange.objects.count() == 0
    assert _maintenance_rows() == 0
    # and the guard is back
    event = record(AuditAction.LOGIN, username="after")
    _refused(event.delete)


def test_flush_asks_first(event: AuditEvent, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    call_command("flush", verbosity=0)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_migrate_puts_back_a_trigger_that_went_missing(event: AuditEvent) -> None:
    """SQLite drops triggers with their table, which Django rebuilds to change a column."""
    from medshield.audit.guard import expected_triggers, present_triggers

    expected = expected_triggers()
    assert len(expected) >= 4 and expected <= present_triggers()
    on = " ON audit_auditevent" if connection.vendor == "postgresql" else ""
    name = next(n for n in sorted(expected) if n.startswith("audit_auditevent"))
    _sql(f"DROP TRIGGER {name}{on}")
    assert name not in present_triggers()
    call_command("migrate", verbosity=0)
    assert expected <= present_triggers()
    _refused(event.delete)
    _refused(lambda: AuditEvent.objects.update(username="mallory"))
