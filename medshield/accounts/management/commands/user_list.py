"""``medshield user list``: every login with its roles, manufacturer and second factor."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from medshield.accounts.models import Profile
from medshield.accounts.roles import roles_of


class Command(BaseCommand):
    help = "List the logins with their roles, manufacturer and two-factor status."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="one JSON object per line")

    def handle(self, *args: Any, **opts: Any) -> None:
        import json

        makers = dict(Profile.objects.values_list("user_id", "manufacturer"))
        enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
        users = get_user_model().objects.order_by("username").prefetch_related("groups")
        for user in users:
            row = {
                "username": user.get_username(),
                "active": user.is_active,
                "superuser": user.is_superuser,
                "roles": roles_of(user),
                "manufacturer": makers.get(user.pk, ""),
                "two_factor": user.pk in enrolled,
                "last_login": user.last_login.isoformat() if user.last_login else None,
            }
            if opts["json"]:
                self.stdout.write(json.dumps(row, ensure_ascii=False))
                continue
            flags = [
                "admin" if row["superuser"] else "",
                "" if row["active"] else "disabled",
                "2fa" if row["two_factor"] else "",
            ]
            roles = ",".join(row["roles"]) or "-"
            maker = f" ({row['manufacturer']})" if row["manufacturer"] else ""
            extra = " ".join(f for f in flags if f)
            self.stdout.write(f"{row['username']:<24} {roles}{maker} {extra}".rstrip())
