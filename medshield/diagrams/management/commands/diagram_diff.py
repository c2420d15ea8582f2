from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.diagrams import service
from medshield.diagrams.management.commands._diagram_args import add_common, request, write
from medshield.diagrams.render import RenderError, render


class Command(BaseCommand):
    help = "What changed in a diagram between two dates: a list, and the diagram coloured."

    def add_arguments(self, parser: CommandParser) -> None:
        add_common(parser)
        parser.add_argument("--from", dest="since", required=True, help="YYYY-MM-DD[THH:MM]")
        parser.add_argument("--to", dest="until", help="YYYY-MM-DD[THH:MM] (default: now)")
        parser.add_argument(
            "--format",
            choices=["text", "json", "svg", "png", "pdf"],
            default="text",
            help="text or json: the list of changes; svg/png/pdf: the coloured diagram",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        req = request(opts)
        try:
            since = service.parse_when(opts["since"])
            until = service.parse_when(opts["until"]) if opts["until"] else None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if until is not None and until < since:
            raise CommandError("--to is earlier than --from")
        text, changes = service.build_diff(req, since, until)
        fmt = opts["format"]
        if fmt == "json":
            payload = json.dumps([c.as_dict() for c in changes], ensure_ascii=False, indent=2)
            write(self.stdout, (payload + "\n").encode("utf-8"), opts["output"], "svg")
            return
        if fmt == "text":
            lines = [
                f"{c.action:<8} {c.kind:<10} {c.label}"
                + "".join(f"\n{'':20}{d}" for d in c.details)
                for c in changes
            ]
            body = "\n".join(lines) if lines else "no changes"
            write(self.stdout, (body + "\n").encode("utf-8"), opts["output"], "svg")
            return
        try:
            data = render(text, fmt)
        except RenderError as exc:
            raise CommandError(f"Graphviz failed: {exc}") from None
        write(self.stdout, data, opts["output"], fmt)
