"""``medshield sbom import FILE``: store an SBOM and attach it to assets or to a product."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from medshield.audit.log import cli_username, record
from medshield.audit.models import AuditAction
from medshield.register.errors import ImportRejected
from medshield.sboms.importers import import_sbom
from medshield.sboms.management.commands._cli import actor, add_user_argument, read, refused


class Command(BaseCommand):
    help = (
        "Import an SBOM (CycloneDX 1.2-1.7 JSON/XML, SPDX 2.2/2.3 JSON/tag-value) and attach it "
        "to assets or to a manufacturer/model/version.\n\n"
        "Re-importing the same file changes nothing; a newer version of the same SBOM replaces "
        "its components. Exit status: 0 imported, 1 refused (the reasons on stderr), "
        "2 usage error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the SBOM file")
        parser.add_argument(
            "--asset",
            action="append",
            default=[],
            metavar="TAG",
            help="attach to this asset (repeatable)",
        )
        parser.add_argument(
            "--product",
            nargs=3,
            metavar=("MANUFACTURER", "MODEL", "VERSION"),
            help="attach to every asset of this manufacturer, model and software version",
        )
        add_user_argument(parser)

    def handle(self, *args: Any, **opts: Any) -> None:
        path = opts["file"]
        data = read(path)
        try:
            result = import_sbom(
                data,
                filename=Path(path).name,
                asset_tags=opts["asset"],
                product=tuple(opts["product"]) if opts["product"] else None,
                actor=actor(opts["user"]),
            )
        except ImportRejected as exc:
            raise refused(self, path, exc) from None
        record(
            AuditAction.IMPORT,
            username=cli_username(),
            target=f"SBOM {path}"[:300],
            detail={
                "sbom": result.sbom.pk,
                "action": result.action,
                "components": result.components,
                "assets": list(opts["asset"] or []),
            },
        )
        self.stdout.write(str(result))
        applies = result.sbom.applicable_assets().count()
        self.stdout.write(f"applies to {applies} asset(s)")
