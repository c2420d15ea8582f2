"""``medshield createuser``: a login with its roles (and, for a manufacturer, whose devices)."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from medshield.accounts.roles import ROLE_NAMES, RoleError, apply_roles
from medshield.audit.log import record
from medshield.audit.models import AuditAction


class Command(BaseCommand):
    help = "Create a login (or reset its password with --update), with its roles."

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
        parser.add_argument(
            "--role",
            action="append",
            default=[],
            choices=ROLE_NAMES,
            help="a role of the login (repeat for several); with --update, replaces its roles",
        )
        parser.add_argument(
            "--manufacturer",
            default=None,
            help="for the manufacturer role: the manufacturer as the register spells it; "
            "the login then sees only that manufacturer's assets",
        )
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
        if opts["manufacturer"] is not None and not opts["role"]:
            raise CommandError("--manufacturer needs --role manufacturer")
        user = user or User(username=username, email=opts["email"])
        if not opts["no_validate"]:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
        with transaction.atomic():
            user.set_password(password)
            if opts["admin"]:
                user.is_staff = user.is_superuser = True
            user.save()
            record(
                AuditAction.ACCOUNT,
                username="(command line)",
                target=username,
                detail={
                    "event": "updated" if opts["update"] else "created",
                    "roles": sorted(set(opts["role"])),
                    "admin": bool(opts["admin"]),
                },
            )
            if opts["role"]:
                try:
                    apply_roles(user, sorted(set(opts["role"])), opts["manufacturer"])
                except RoleError as exc:
                    raise CommandError(str(exc)) from None
        roles = f" with role {', '.join(sorted(set(opts['role'])))}" if opts["role"] else ""
        self.stdout.write(f"login {username!r} {'updated' if opts['update'] else 'created'}{roles}")
