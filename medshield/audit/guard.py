"""Why the audit log cannot be edited, and the one door through which old rows can leave.

The database refuses UPDATE and DELETE on ``audit_auditevent`` (the audit log) and on
``core_objectchange`` (the history of changes), through triggers created by the audit app's
migration ``0003_append_only``, on SQLite and PostgreSQL alike (TRUNCATE too on PostgreSQL).
The error is ``django.db.IntegrityError`` naming the table and "append-only".

Deletes are let through only while the maintenance table ``audit_maintenance`` holds a row.
:func:`maintenance` inserts that row inside a transaction and removes it before the
transaction ends, so no other connection ever sees it. Two callers use it:

* ``medshield audit purge --before DATE`` removes audit events older than DATE (retention),
  and records that it did so as an audit event of its own;
* ``flush`` (Django's "empty every table", which the test runner calls after each
  transactional test) - see :mod:`medshield.audit.management.commands.flush`.

Updates are never let through, with one exception on the history: deleting a login sets
``user_id`` to NULL on the rows it wrote (``on_delete=SET_NULL``); the row keeps ``user_name``,
so who made the change stays readable.

SQLite drops a table's triggers with the table, and Django rebuilds a SQLite table to change a
column; :func:`restore_triggers` therefore runs after every ``migrate`` and recreates any that
is missing (logging a warning).

What this protects against: application bugs, a mistaken ``.delete()`` or ``.update()``, and
anyone working through the application or its SQL prompt. What it does not: someone who can
drop triggers (on PostgreSQL, the owner of the tables) or rewrite the SQLite file. For that,
run the application under a PostgreSQL role that does not own the tables and copy the log to
another system.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
from collections.abc import Iterator

from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger(__name__)

#: the table whose rows let deletes through (created by migration 0003, not a Django model, so
#: ``flush`` never empties it)
MAINTENANCE_TABLE = "audit_maintenance"


@contextlib.contextmanager
def maintenance(reason: str, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Allow deletes from the audit log and history for the duration of the block.

    Everything in the block runs in one transaction with the maintenance row; the row is
    removed again at the end, and a failure rolls back the row and the deletes together.
    """
    connection = connections[using]
    table = connection.ops.quote_name(MAINTENANCE_TABLE)
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} (reason) VALUES (%s)", [reason[:200]])  # noqa: S608
        yield
        # Reached only on success; on an exception the transaction rolls back, row and all.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608


# --- keeping the triggers in place -------------------------------------------------------------
#: the migration whose statements define the triggers as they should be now
_TRIGGER_MIGRATION = "medshield.audit.migrations.0003_append_only"
_TRIGGER_NAME = re.compile(r"^CREATE TRIGGER (\w+) ")


def _statements(vendor: str) -> list[str]:
    migration = importlib.import_module(_TRIGGER_MIGRATION)
    statements: dict[str, tuple[list[str], list[str]]] = migration.STATEMENTS
    return statements[vendor][0] if vendor in statements else []


def expected_triggers(using: str = DEFAULT_DB_ALIAS) -> set[str]:
    """The names of the append-only triggers this database should have."""
    vendor = connections[using].vendor
    return {m.group(1) for s in _statements(vendor) if (m := _TRIGGER_NAME.match(s))}


def present_triggers(using: str = DEFAULT_DB_ALIAS) -> set[str]:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        elif connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            return set()
        return {row[0] for row in cursor.fetchall()}


def restore_triggers(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Create whichever append-only trigger is missing; the names of those created.

    SQLite drops a table's triggers with the table, and Django's SQLite schema editor changes a
    column by building a new table and dropping the old one: a later migration of the history
    (core's) or of the audit log would silently remove the guard. This runs after every
    ``migrate`` and puts it back.
    """
    connection = connections[using]
    if MAINTENANCE_TABLE not in connection.introspection.table_names():
        return []  # the audit app's migrations have not run (or were reversed)
    missing = expected_triggers(using) - present_triggers(using)
    if not missing:
        return []
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for sql in _statements(connection.vendor):
            match = _TRIGGER_NAME.match(sql)
            if (match and match.group(1) in missing) or sql.lstrip().startswith(
                "CREATE OR REPLACE FUNCTION"
            ):
                cursor.execute(sql)
    logger.warning("append-only triggers were missing and have been restored: %s", missing)
    return sorted(missing)
