"""``medshield vex import FILE``: store the statements of an OpenVEX or CycloneDX VEX document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from medshield.audit.log import cli_username, record
from medshield.audit.models import AuditAction
from medshield.register.errors import ImportRejected
from medshield.sboms.importers import import_vex
from medshield.sboms.management.commands._cli import actor, add_user_argument, read, refused


class Command(BaseCommand):
    help = (
        "Import a VEX document (OpenVEX 0.2.0/0.0.1, CycloneDX VEX JSON/XML); statuses are "
        "normalised to CycloneDX's analysis states.\n\n"
        "Exit status: 0 imported, 1 refused (the reasons on stderr), 2 usage error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the VEX file")
        add_user_argument(parser)

    def handle(self, *args: Any, **opts: Any) -> None:
        path = opts["file"]
        data = read(path)
        try:
            result = import_vex(data, filename=Path(path).name, actor=actor(opts["user"]))
        except ImportRejected as exc:
            raise refused(self, path, exc) from None
        record(
            AuditAction.IMPORT,
            username=cli_username(),
            target=f"VEX {path}"[:300],
            detail={
                "action": result.action,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "deleted": result.deleted,
            },
        )
        self.stdout.write(str(result))
