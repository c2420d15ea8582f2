"""``medshield user unlock``: lift a login lockout after repeated failed passwords."""

from __future__ import annotations

from typing import Any

from axes.utils import reset
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Unlock a login locked after too many failed passwords."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **opts: Any) -> None:
        count = reset(username=opts["username"])
        self.stdout.write(f"{opts['username']}: {count} lockout record(s) removed")
