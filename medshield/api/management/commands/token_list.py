"""``medshield token list``: every API token (never its secret), newest first."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from medshield.api.models import ApiToken


class Command(BaseCommand):
    help = "List API tokens: prefix, login, name, scope, expiry, last use and status."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="only this login's tokens")
        parser.add_argument(
            "--active", action="store_true", help="only tokens that still authenticate"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        tokens = ApiToken.objects.select_related("user")
        if opts["user"]:
            tokens = tokens.filter(user__username=opts["user"])
        if opts["active"]:
            tokens = tokens.usable()
        rows = [
            (
                token.prefix,
                token.user.get_username(),
                token.name,
                token.scope,
                f"{token.expires_at:%Y-%m-%d}",
                f"{token.last_used:%Y-%m-%d %H:%M}" if token.last_used else "-",
                "revoked" if token.is_revoked else "expired" if token.is_expired else "active",
            )
            for token in tokens
        ]
        header = ("PREFIX", "USER", "NAME", "SCOPE", "EXPIRES", "LAST USED", "STATUS")
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
        if not rows:
            self.stderr.write("no tokens")
