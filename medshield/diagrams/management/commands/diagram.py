from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.audit.log import cli_username, record
from medshield.audit.models import AuditAction
from medshield.core.actor import Actor, acting_as
from medshield.diagrams import service
from medshield.diagrams.management.commands._diagram_args import add_common, request, write
from medshield.diagrams.render import RenderError, render


class Command(BaseCommand):
    help = "Draw a configuration diagram (network, physical, server, system) from the register."

    def add_arguments(self, parser: CommandParser) -> None:
        add_common(parser)
        parser.add_argument("--format", choices=["svg", "png", "pdf", "dot"], default="svg")
        parser.add_argument("--at", help="draw the register as it stood then (YYYY-MM-DD[THH:MM])")
        parser.add_argument("--user", default="cli", help="name recorded with the export")

    def handle(self, *args: Any, **opts: Any) -> None:
        req = request(opts, opts["at"])
        text = service.build(req)
        if opts["format"] == "dot":
            data = text.encode("utf-8")
        else:
            try:
                data = render(text, opts["format"])
            except RenderError as exc:
                raise CommandError(f"Graphviz failed: {exc}") from None
        write(self.stdout, data, opts["output"], opts["format"])
        with acting_as(Actor(user_id=None, name=opts["user"])):
            service.record_export(req.kind, opts["format"], redacted=req.redact)
        record(
            AuditAction.EXPORT,
            username=cli_username(),
            target=f"diagram {req.kind}",
            detail={"format": opts["format"], "redacted": bool(req.redact), "bytes": len(data)},
        )
        if opts["output"]:
            self.stderr.write(f"wrote {opts['output']} ({len(data):,} bytes)")
