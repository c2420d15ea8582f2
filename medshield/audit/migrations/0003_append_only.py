"""The audit log and the history of changes become append-only in the database itself.

Triggers refuse every UPDATE and DELETE on ``audit_auditevent`` and ``core_objectchange``
(and TRUNCATE on PostgreSQL), whoever sends it: the ORM, a raw cursor, ``dbshell``.

Two exceptions, both documented in :mod:`medshield.audit.guard`:

* a history row may have its ``user_id`` set to NULL (and nothing else changed): that is what
  deleting a login does (``on_delete=SET_NULL``); the row keeps ``user_name``;
* rows may be deleted while the maintenance table ``audit_maintenance`` holds a row, which only
  ``medshield audit purge`` (retention, itself audited) and ``flush`` (emptying the whole
  database, as the test runner does) insert, inside their own transaction.

The SQL is written out here rather than imported so that this migration stays as it was
applied. ``OBJECTCHANGE_COLUMNS`` is checked against the model by the tests: a column added to
the history later needs a migration that recreates the SQLite trigger (PostgreSQL's compares
whole rows and needs nothing).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

MAINTENANCE_TABLE = "audit_maintenance"

#: every column of core_objectchange but user_id (which a deleted login sets to NULL)
OBJECTCHANGE_COLUMNS = (
    "id",
    "time",
    "user_name",
    "action",
    "object_type_id",
    "object_id",
    "object_repr",
    "related_type_id",
    "related_id",
    "changes",
    "data",
)

_CREATE_MAINTENANCE = (
    f"CREATE TABLE {MAINTENANCE_TABLE} ("
    " reason varchar(200) NOT NULL,"
    " started timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)"
)

_NO_CHANGE = "is append-only: rows cannot be changed"
_NO_DELETE = "is append-only: rows cannot be deleted (see medshield audit purge)"

SQLITE_FORWARD = [
    _CREATE_MAINTENANCE,
    # --- audit_auditevent: no update at all, delete only in maintenance ---
    "CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent "
    f"BEGIN SELECT RAISE(ABORT, 'audit_auditevent {_NO_CHANGE}'); END",
    "CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent "
    f"WHEN NOT EXISTS (SELECT 1 FROM {MAINTENANCE_TABLE}) "
    f"BEGIN SELECT RAISE(ABORT, 'audit_auditevent {_NO_DELETE}'); END",
    # --- core_objectchange: only "forget the deleted login" may update ---
    # any update that is not user_id going from a login to NULL...
    "CREATE TRIGGER core_objectchange_no_update BEFORE UPDATE ON core_objectchange "
    "WHEN NEW.user_id IS NOT NULL OR OLD.user_id IS NULL "
    f"BEGIN SELECT RAISE(ABORT, 'core_objectchange {_NO_CHANGE}'); END",
    # ...and any update that names another column at all (an ORM save() names them all)
    "CREATE TRIGGER core_objectchange_no_update_of BEFORE UPDATE OF "
    + ", ".join(OBJECTCHANGE_COLUMNS)
    + " ON core_objectchange "
    f"BEGIN SELECT RAISE(ABORT, 'core_objectchange {_NO_CHANGE}'); END",
    "CREATE TRIGGER core_objectchange_no_delete BEFORE DELETE ON core_objectchange "
    f"WHEN NOT EXISTS (SELECT 1 FROM {MAINTENANCE_TABLE}) "
    f"BEGIN SELECT RAISE(ABORT, 'core_objectchange {_NO_DELETE}'); END",
]

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS core_objectchange_no_delete",
    "DROP TRIGGER IF EXISTS core_objectchange_no_update_of",
    "DROP TRIGGER IF EXISTS core_objectchange_no_update",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_update",
    f"DROP TABLE IF EXISTS {MAINTENANCE_TABLE}",
]

# TG_ARGV[0], when given, names the one column an UPDATE may set to NULL (nothing else changed).
# SQLSTATE 23000 so that both databases raise django.db.IntegrityError.
POSTGRESQL_FUNCTION = f"""
CREATE OR REPLACE FUNCTION medshield_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    detachable text := TG_ARGV[0];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF detachable IS NOT NULL
           AND to_jsonb(OLD) -> detachable <> 'null'::jsonb
           AND to_jsonb(NEW) -> detachable = 'null'::jsonb
           AND (to_jsonb(NEW) - detachable) = (to_jsonb(OLD) - detachable) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '% {_NO_CHANGE}', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM {MAINTENANCE_TABLE}) THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% {_NO_DELETE}', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$
"""

POSTGRESQL_FORWARD = [
    _CREATE_MAINTENANCE,
    POSTGRESQL_FUNCTION,
    "CREATE TRIGGER audit_auditevent_append_only BEFORE UPDATE OR DELETE ON audit_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION medshield_append_only()",
    "CREATE TRIGGER audit_auditevent_no_truncate BEFORE TRUNCATE ON audit_auditevent "
    "FOR EACH STATEMENT EXECUTE FUNCTION medshield_append_only()",
    "CREATE TRIGGER core_objectchange_append_only BEFORE UPDATE OR DELETE ON core_objectchange "
    "FOR EACH ROW EXECUTE FUNCTION medshield_append_only('user_id')",
    "CREATE TRIGGER core_objectchange_no_truncate BEFORE TRUNCATE ON core_objectchange "
    "FOR EACH STATEMENT EXECUTE FUNCTION medshield_append_only()",
]

POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS core_objectchange_no_truncate ON core_objectchange",
    "DROP TRIGGER IF EXISTS core_objectchange_append_only ON core_objectchange",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent",
    "DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent",
    "DROP FUNCTION IF EXISTS medshield_append_only()",
    f"DROP TABLE IF EXISTS {MAINTENANCE_TABLE}",
]

STATEMENTS = {
    "sqlite": (SQLITE_FORWARD, SQLITE_REVERSE),
    "postgresql": (POSTGRESQL_FORWARD, POSTGRESQL_REVERSE),
}


def _run(schema_editor: Any, forward: bool) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        # Refuse rather than leave the audit log quietly mutable on an unknown database.
        raise RuntimeError(f"no append-only triggers for the {vendor} database")
    for sql in STATEMENTS[vendor][0 if forward else 1]:
        schema_editor.execute(sql, params=None)


def create_triggers(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, forward=True)


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_action_indexes"),
        ("core", "0002_objectchange_data"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers, elidable=False)]
