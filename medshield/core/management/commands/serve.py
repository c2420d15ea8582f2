from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the web pages with gunicorn (binds to 127.0.0.1 unless told otherwise)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            default=os.environ.get("MEDSHIELD_BIND", "127.0.0.1:8000"),
            help="address:port to listen on; 127.0.0.1 by default so that the register of the "
            "hospital's weak points is not on the network until a TLS proxy stands in front",
        )
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", 2)))
        parser.add_argument("--threads", type=int, default=4)

    def handle(self, *args: Any, **opts: Any) -> None:
        from gunicorn.app.wsgiapp import WSGIApplication

        sys.argv = [
            "gunicorn",
            "medshield.wsgi:application",
            "--bind",
            opts["bind"],
            "--workers",
            str(opts["workers"]),
            "--threads",
            str(opts["threads"]),
            "--access-logfile",
            "-",
            # Longer than Graphviz may take on one diagram (MEDSHIELD_DIAGRAM_TIMEOUT), so such a
            # request ends with its own message rather than a killed worker.
            "--timeout",
            str(settings.DIAGRAM_TIMEOUT + 30),
        ]
        self.stdout.write(f"medshield serving on http://{opts['bind']}/", ending="\n")
        self.stdout.flush()
        WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()
