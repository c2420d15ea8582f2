"""``medshield user role``: set the roles of a login (and a manufacturer's name)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from medshield.accounts.roles import ROLE_NAMES, RoleError, apply_roles, roles_of
from medshield.audit.log import record
from medshield.audit.models import AuditAction


class Command(BaseCommand):
    help = "Set the roles of a login (replacing the ones it has)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("roles", nargs="*", choices=ROLE_NAMES, metavar="ROLE")
        parser.add_argument(
            "--manufacturer",
            default=None,
            help="for the manufacturer role: the manufacturer as the register spells it",
        )
        parser.add_argument("--none", action="store_true", help="remove every role")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no login named {opts['username']!r}")
        roles = sorted(set(opts["roles"]))
        if not roles and not opts["none"]:
            self.stdout.write(", ".join(roles_of(user)) or "-")
            return
        before = roles_of(user)
        try:
            with transaction.atomic():
                apply_roles(user, roles, opts["manufacturer"])
                record(
                    AuditAction.ACCOUNT,
                    username="(command line)",
                    target=user.get_username(),
                    detail={"roles_before": before, "roles": roles},
                )
        except RoleError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{user.get_username()}: {', '.join(roles) or 'no role'}")
