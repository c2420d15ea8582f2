"""``medshield token create USER --name N --scope read|write --days D``."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.api.models import DEFAULT_DAYS, MAX_DAYS, TokenScope
from medshield.api.tokens import create_token


class Command(BaseCommand):
    help = "Make an API token for a login and print it (shown this once; only its hash is kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the login the token acts as")
        parser.add_argument("--name", required=True, help="what the token is for")
        parser.add_argument(
            "--scope",
            choices=TokenScope.values,
            default=TokenScope.READ,
            help="read (GET only, the default) or write",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_DAYS,
            help=f"days until it expires (1 to {MAX_DAYS}, default {DEFAULT_DAYS})",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no login named {opts['username']!r}")
        if not user.is_active:
            raise CommandError(f"the login {opts['username']!r} is disabled")
        name = opts["name"].strip()
        if not name or len(name) > 100 or "\x00" in name:
            raise CommandError("--name must be 1 to 100 characters")
        if not 1 <= opts["days"] <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}")
        token, text = create_token(
            user,
            name=name,
            scope=opts["scope"],
            days=opts["days"],
            via="command line",
            operator=getpass.getuser(),
        )
        self.stderr.write(
            f"token {token.prefix} for {user.get_username()} ({token.scope}), expires "
            f"{token.expires_at:%Y-%m-%d %H:%M %Z}. It is shown only now: store it safely."
        )
        self.stdout.write(text)
