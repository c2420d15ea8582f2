"""Django's ``flush`` (empty every table), with the audit log's delete guard lifted meanwhile.

The audit log and the history refuse deletes (see :mod:`medshield.audit.guard`). ``flush``
erases the whole database, audit log included, by design: it is how the test runner resets
the database after each transactional test, and what an operator runs to start over. It runs
here inside :func:`~medshield.audit.guard.maintenance`, so the guard opens for exactly the
statements that empty the tables and closes with them. It does not record an audit event: the
log it would write to has just been emptied on purpose, and a row left behind would be the only
thing in a database meant to be empty.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush

from medshield.audit.guard import maintenance


class Command(flush.Command):
    help = (
        "Removes ALL DATA from the database, the audit log and the history of changes "
        "included. Asks for confirmation unless --no-input is given."
    )

    def handle(self, **options: Any) -> None:
        if options["interactive"]:
            # Ask before the transaction starts: a SQLite write lock must not wait on a human.
            name = self._database_name(options["database"])
            confirm = input(
                f"You have requested a flush of the database.\n"
                f'This will IRREVERSIBLY DESTROY all data currently in the "{name}" database,\n'
                "the audit log and the history of changes included.\n"
                "Are you sure you want to do this?\n\n"
                "    Type 'yes' to continue, or 'no' to cancel: "
            )
            if confirm != "yes":
                self.stdout.write("Flush cancelled.")
                return
        with maintenance("flush", using=options["database"]):
            super().handle(**{**options, "interactive": False})

    @staticmethod
    def _database_name(alias: str) -> str:
        from django.db import connections

        return str(connections[alias].settings_dict["NAME"])
