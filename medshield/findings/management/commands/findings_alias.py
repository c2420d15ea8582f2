"""``medshield findings alias``: list, confirm or withdraw a vendor/product name alias."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from medshield.findings.models import VendorAlias
from medshield.findings.service import rematch_names


class Command(BaseCommand):
    help = "List name aliases, or confirm (--add NAME ALIAS) or withdraw (--remove NAME ALIAS) one."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--add", nargs=2, metavar=("NAME", "ALIAS"))
        group.add_argument("--remove", nargs=2, metavar=("NAME", "ALIAS"))
        parser.add_argument("--note", default="", help="why the names are the same")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["add"]:
            name, alias = opts["add"]
            row = VendorAlias(name=name.strip(), alias=alias.strip(), note=opts["note"][:300])
            try:
                row.full_clean()
            except ValidationError as exc:
                messages = [f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()]
                raise CommandError("; ".join(messages), returncode=2) from None
            with transaction.atomic():
                row.save()
            stats = rematch_names([row.name, row.alias])
            self.stdout.write(f"confirmed {row}; {stats.summary()}")
        elif opts["remove"]:
            name, alias = opts["remove"]
            deleted, _ = VendorAlias.objects.filter(name=name, alias=alias).delete()
            if not deleted:
                raise CommandError(f"no alias {name} = {alias}", returncode=2)
            stats = rematch_names([name, alias])
            self.stdout.write(f"withdrawn {name} = {alias}; {stats.summary()}")
        else:
            for row in VendorAlias.objects.all():
                self.stdout.write(f"{row.name}\t{row.alias}\t{row.note}")
