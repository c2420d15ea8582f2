"""The audit log's filters as command-line options (shared by ``audit export``)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import CommandError, CommandParser

from medshield.audit.forms import action_choices
from medshield.audit.timeline import Filters


def action_values() -> list[str]:
    values: list[str] = []
    for value, label in action_choices():
        if isinstance(label, list):
            values.extend(str(v) for v, _ in label)
        elif value:
            values.append(str(value))
    return values


def add_filter_arguments(parser: CommandParser) -> None:
    parser.add_argument("--q", default="", help="text in the user, object, path or detail")
    parser.add_argument("--user", default="", help="exactly this user name")
    parser.add_argument(
        "--action",
        default="",
        choices=action_values(),
        help="one kind of event (login, export...) or change (change, create, update, delete)",
    )
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="from this day (local time)")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="to this day, inclusive")


def parse_day(text: str | None, option: str) -> datetime.date | None:
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option} {text!r} is not a date (YYYY-MM-DD)", returncode=2) from None


def filters_from(opts: dict[str, Any]) -> Filters:
    since = parse_day(opts["since"], "--since")
    until = parse_day(opts["until"], "--until")
    if since and until and since > until:
        raise CommandError("--until is before --since", returncode=2)
    return Filters(
        q=opts["q"].strip(),
        user=opts["user"].strip(),
        action=opts["action"],
        since=since,
        until=until,
    )
