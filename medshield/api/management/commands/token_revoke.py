"""``medshield token revoke PREFIX``: the token stops working at once."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.api.models import TOKEN_PREFIX, ApiToken
from medshield.api.tokens import revoke_token


class Command(BaseCommand):
    help = "Revoke an API token by its prefix (as 'token list' shows it) or its full text."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", help="the token's prefix, e.g. 3f9a0c1b2d4e")

    def handle(self, *args: Any, **opts: Any) -> None:
        prefix: str = opts["prefix"].strip()
        if prefix.startswith(TOKEN_PREFIX):
            prefix = prefix[len(TOKEN_PREFIX) :].partition("_")[0]
        token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"no token with prefix {prefix!r}")
        if not revoke_token(token, via="command line", operator=getpass.getuser()):
            self.stdout.write(f"token {prefix} was revoked already")
            return
        self.stdout.write(f"token {prefix} ({token.name}, {token.user.get_username()}) revoked")
