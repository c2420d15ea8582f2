"""``medshield register import FILE``: load a register file (JSON, CSV or XLSX)."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.audit.log import cli_username, record
from medshield.audit.models import AuditAction
from medshield.core.actor import Actor, actor_for_user
from medshield.register.document import (
    FORMATS,
    ImportRejected,
    ImportResult,
    import_document,
    read_path,
)


class Command(BaseCommand):
    help = (
        "Import a register file (JSON, CSV or XLSX); refuses the whole file when any record is "
        "wrong.\n\nExit status: 0 imported (or would import, with --dry-run), 1 refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the register file to import")
        parser.add_argument(
            "--format",
            choices=("auto", *FORMATS),
            default="auto",
            help="file format (default: detected from the content and the extension)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and count, write nothing"
        )
        parser.add_argument(
            "--user", metavar="NAME", help="login the history records the changes under"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        actor = self._actor(opts["user"])
        try:
            parsed = read_path(opts["file"], fmt=opts["format"])
            for column in parsed.columns:
                if column.field is None and column.header:
                    self.stderr.write(f"ignoring unknown column {column.header!r}")
            result = import_document(
                parsed.document,
                actor=actor,
                progress=self._progress(),
                dry_run=opts["dry_run"],
                source=parsed.source,
            )
        except ImportRejected as exc:
            self._end_progress()
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(
                f"refused {opts['file']}: {len(exc.errors)} error(s); nothing was imported",
                returncode=1,
            ) from None
        self._end_progress()
        if not opts["dry_run"]:
            record(
                AuditAction.IMPORT,
                username=cli_username(),
                target=f"register {opts['file']}"[:300],
                detail={"format": parsed.format, "counts": result.counts, "as": actor.name},
            )
        self._summary(result, parsed.format)

    def _actor(self, name: str | None) -> Actor:
        if name:
            user = get_user_model().objects.filter(username=name).first()
            if user is None:
                raise CommandError(f"no login named {name!r}", returncode=2)
            return actor_for_user(user)
        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry in some containers
            who = "unknown"
        return Actor(user_id=None, name=f"{who} (cli)")

    # --- output --------------------------------------------------------------------------------
    def _progress(self) -> Any:
        tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        self._bar_shown = False
        last: dict[str, int] = {}

        def report(stage: str, done: int, total: int) -> None:
            if tty:
                # One redrawn line: a bar for the stage under way.
                width = 30
                filled = width * done // total if total else width
                sys.stderr.write(
                    f"\r{stage:<22} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}  "
                )
                sys.stderr.flush()
                self._bar_shown = True
            elif done == total and last.get(stage) != total:
                # Logs and pipes get one line per finished stage instead of a redrawn bar.
                self.stderr.write(f"{stage}: {done}/{total}")
            last[stage] = done

        return report

    def _end_progress(self) -> None:
        if getattr(self, "_bar_shown", False):
            sys.stderr.write("\n")
            self._bar_shown = False

    def _summary(self, result: ImportResult, fmt: str) -> None:
        head = ("", "created", "updated", "unchanged", "deleted")
        rows = [head, *((t.replace("_", " "), *map(str, n)) for t, *n in result.rows())]
        width = [max(len(str(r[i])) for r in rows) for i in range(5)]
        for row in rows:
            self.stdout.write(
                "  ".join(
                    str(v).ljust(width[i]) if i == 0 else str(v).rjust(width[i])
                    for i, v in enumerate(row)
                )
            )
        if not result.changed:
            self.stdout.write(f"{fmt}: no changes (the register already matches the file)")
            return
        verb = "would be" if result.dry_run else ""
        self.stdout.write(
            f"{fmt}: {result.created} {verb} created, {result.updated} {verb} updated, "
            f"{result.deleted} {verb} deleted".replace("  ", " ")
            + (" (dry run: nothing written)" if result.dry_run else "")
        )
