"""``medshield feeds status``: per feed the records, newest record, last import, freshness."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from medshield.vulns.status import source_statuses


class Command(BaseCommand):
    help = "Show per feed source the records held, the newest record date and the last import."

    def handle(self, *args: Any, **opts: Any) -> None:
        head = ("source", "records", "newest record", "last import", "age (days)", "state")
        rows = [head]
        for s in source_statuses():
            newest = s.newest.date() if hasattr(s.newest, "date") else s.newest
            last = (
                timezone.localtime(s.last_import.finished).strftime("%Y-%m-%d %H:%M")
                if s.last_import
                else "-"
            )
            rows.append(
                (
                    s.kind,
                    str(s.records),
                    str(newest or "-"),
                    last,
                    "-" if s.age_days is None else str(s.age_days),
                    s.freshness,
                )
            )
        width = [max(len(r[i]) for r in rows) for i in range(len(head))]
        for row in rows:
            self.stdout.write("  ".join(v.ljust(width[i]) for i, v in enumerate(row)).rstrip())
