"""``medshield register export``: write the whole register as JSON, CSV or XLSX."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.audit.log import cli_username, record
from medshield.audit.models import AuditAction
from medshield.register.document import FORMATS, export_bytes


class Command(BaseCommand):
    help = "Export the register as JSON (the whole register), CSV (assets) or XLSX (everything)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=FORMATS, default="json")
        parser.add_argument(
            "-o", "--output", metavar="FILE", help="write here instead of standard output"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        fmt: str = opts["format"]
        output: str | None = opts["output"]
        if fmt == "xlsx" and not output:
            raise CommandError("an XLSX export needs -o FILE (it is not text)")
        data = export_bytes(fmt)
        record(
            AuditAction.EXPORT,
            username=cli_username(),
            target="register",
            detail={"format": fmt, "bytes": len(data), "output": output or "-"},
        )
        if output:
            Path(output).write_bytes(data)
            self.stderr.write(f"wrote {output} ({len(data)} bytes)")
            return
        # Bytes straight to stdout: the JSON is UTF-8 whatever the terminal's locale says.
        stream = getattr(self.stdout, "_out", sys.stdout)
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()
            buffer.write(data)
            buffer.flush()
        else:
            stream.write(data.decode("utf-8"))
