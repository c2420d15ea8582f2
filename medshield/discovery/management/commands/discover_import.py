"""``medshield discover import FILE...``: store what nmap scans, Zeek logs and captures show."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.audit.log import cli_username, record
from medshield.audit.models import AuditAction
from medshield.core.actor import Actor, acting_as, actor_for_user
from medshield.discovery.drift import compute_drift
from medshield.discovery.observe import EvidenceError, import_file

#: file suffixes passed over quietly when a shell glob names them next to evidence files
NOT_EVIDENCE = frozenset({".py", ".pyc", ".md", ".txt", ".rst"})


class Command(BaseCommand):
    help = (
        "Import network evidence (nmap XML, Zeek conn/dhcp/dns logs in TSV or JSON, pcap/pcapng) "
        "and show how it differs from the register.\n\n"
        "Each file is stored in one transaction; a file imported before is skipped. A file that "
        "breaks off is refused unless --partial is given.\n"
        "Exit status: 0 every file imported or already known, 1 some file refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="evidence files")
        parser.add_argument(
            "--kind",
            choices=("auto", "nmap", "zeek", "pcap"),
            default="auto",
            help="what the files are (default: detected from their content)",
        )
        parser.add_argument(
            "--partial",
            action="store_true",
            help="store what could be read from a truncated or damaged file, with its warnings",
        )
        parser.add_argument("--user", metavar="NAME", help="login the import is recorded under")

    def handle(self, *args: Any, **opts: Any) -> None:
        actor = self._actor(opts["user"])
        refused = 0
        with acting_as(actor):
            for name in opts["files"]:
                if Path(name).is_dir() or Path(name).suffix in NOT_EVIDENCE:
                    # e.g. ``discover import medshield/discovery/demo/*`` also names the
                    # script that generates the demo files
                    self.stderr.write(f"skipping {name}: not an evidence file")
                    continue
                try:
                    outcome = import_file(
                        name, kind=opts["kind"], actor=actor, allow_partial=opts["partial"]
                    )
                except EvidenceError as exc:
                    refused += 1
                    self.stderr.write(f"refused {exc}")
                    continue
                source = outcome.source
                for warning in outcome.warnings:
                    self.stderr.write(f"warning: {source.file_name}: {warning}")
                if outcome.created:
                    record(
                        AuditAction.IMPORT,
                        username=cli_username(),
                        target=f"discovery {source.file_name}"[:300],
                        detail={
                            "kind": source.kind,
                            "hosts": source.host_count,
                            "flows": source.flow_count,
                        },
                    )
                    self.stdout.write(
                        f"{source.file_name}: {source.kind}"
                        f"{' ' + source.detail if source.detail else ''}, "
                        f"{source.host_count} hosts, {source.flow_count} flows"
                    )
                else:
                    self.stdout.write(
                        f"{name}: already imported as {source.file_name} "
                        f"on {source.imported:%Y-%m-%d %H:%M}; nothing changed"
                    )
        drift = compute_drift()
        self.stdout.write(
            f"drift: {len(drift.unknown_hosts)} unknown hosts, "
            f"{len(drift.silent_assets)} silent assets, "
            f"{len(drift.undeclared_flows)} undeclared flows, "
            f"{len(drift.changed_facts)} changed facts "
            "(medshield discover drift, or /discovery/ in the browser)"
        )
        if refused:
            raise CommandError(
                f"{refused} file(s) refused; nothing was stored from them", returncode=1
            )

    def _actor(self, name: str | None) -> Actor:
        if name:
            user = get_user_model().objects.filter(username=name).first()
            if user is None:
                raise CommandError(f"no login named {name!r}", returncode=2)
            return actor_for_user(user)
        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry in some containers
            who = "unknown"
        return Actor(user_id=None, name=f"{who} (cli)")
