"""``medshield discover drift``: where the observed network and the register disagree."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from medshield.discovery.drift import DEFAULT_SILENT_DAYS, Drift, compute_drift


class Command(BaseCommand):
    help = (
        "List unknown hosts, silent assets, undeclared flows and changed facts.\n\n"
        "Dismissed items are left out unless --include-dismissed is given. Exit status 0."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=("table", "json"), default="table")
        parser.add_argument(
            "--silent-days",
            type=int,
            default=DEFAULT_SILENT_DAYS,
            metavar="N",
            help="an asset is silent when not seen for N days before the newest evidence of "
            f"its subnet (default {DEFAULT_SILENT_DAYS})",
        )
        parser.add_argument("--include-dismissed", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        drift = compute_drift(
            silent_days=opts["silent_days"], include_dismissed=opts["include_dismissed"]
        )
        if opts["format"] == "json":
            text = json.dumps(drift.as_json(), indent=2, ensure_ascii=False)
            stream = getattr(self.stdout, "_out", sys.stdout)
            stream.write(text + "\n")
            stream.flush()
            return
        self.stdout.write(_table(drift))


def _grid(title: str, header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = [f"{title}: {len(rows)}"]
    if not rows:
        return [*lines, ""]
    cells = [[str(c) if c not in (None, "") else "-" for c in row] for row in rows]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *cells]:
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
    return [*lines, ""]


def _table(drift: Drift) -> str:
    lines = [
        f"evidence files: {drift.sources}; subnets covered: "
        f"{', '.join(drift.covered_subnets) or '-'}; dismissed: {drift.dismissed}",
        "",
    ]
    lines += _grid(
        "unknown hosts",
        ["ip", "mac", "vendor", "hostnames", "protocols/ports", "last seen"],
        [
            [
                i.data["ip"],
                i.data["mac"],
                i.data["vendor"],
                ", ".join(i.data["hostnames"]),
                ", ".join(sorted(i.data["ports"] or i.data["protocols"]))[:60],
                _when(i.data["last_seen"]),
            ]
            for i in drift.unknown_hosts
        ],
    )
    lines += _grid(
        f"silent assets (not seen for {drift.silent_days} days)",
        ["asset", "name", "ip", "subnet", "last seen", "evidence until"],
        [
            [
                i.data["asset"],
                i.data["name"],
                i.data["ip"],
                i.data["subnet"],
                _when(i.data["last_seen"]),
                _when(i.data["evidence_until"]),
            ]
            for i in drift.silent_assets
        ],
    )
    lines += _grid(
        "undeclared flows",
        ["source", "destination", "port", "protocol", "packets", "last seen"],
        [
            [
                f"{i.data['source']} ({i.data['src']})",
                f"{i.data['destination']} ({i.data['dst']})",
                f"{i.data['port'] or ''}/{i.data['transport']}",
                i.data["protocol"],
                i.data["packets"],
                _when(i.data["last_seen"]),
            ]
            for i in drift.undeclared_flows
        ],
    )
    lines += _grid(
        "changed facts",
        ["asset", "interface", "field", "registered", "observed"],
        [
            [
                i.data["asset"],
                i.data["interface"],
                i.data["field"],
                i.data["registered"],
                i.data["observed"],
            ]
            for i in drift.changed_facts
        ],
    )
    return "\n".join(lines).rstrip()


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""
