from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Create a login (or reset its password with --update)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--password-env",
            default="MEDSHIELD_PASSWORD",
            help="environment variable holding the password (default MEDSHIELD_PASSWORD); "
            "asked for interactively when unset",
        )
        parser.add_argument("--email", default="")
        parser.add_argument("--admin", action="store_true", help="give the login every right")
        parser.add_argument("--update", action="store_true", help="reset an existing login")
        parser.add_argument(
            "--no-validate", action="store_true", help="skip password strength checks (demo only)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        User = get_user_model()
        username: str = opts["username"]
        password = os.environ.get(opts["password_env"])
        if password is None:
            password = getpass.getpass(f"Password for {username}: ")
        user = User.objects.filter(username=username).first()
        if user is not None and not opts["update"]:
            raise CommandError(f"the login {username!r} exists already (use --update to reset it)")
        user = user or User(username=username, email=opts["email"])
        if not opts["no_validate"]:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
        user.set_password(password)
        if opts["admin"]:
            user.is_staff = user.is_superuser = True
        user.save()
        self.stdout.write(f"login {username!r} {'updated' if opts['update'] else 'created'}")
