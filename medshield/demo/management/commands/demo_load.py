"""``medshield demo load``: fill the register with the demo hospital (or write it as JSON)."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.assets.models import Asset
from medshield.core.actor import Actor
from medshield.demo.generator import build_demo_document
from medshield.register.errors import ImportRejected
from medshield.register.importer import import_document


class Command(BaseCommand):
    help = (
        "Load the demo hospital (a fictional Japanese general hospital) into the register.\n\n"
        "Runs the register importer, so loading twice changes nothing; --output writes the "
        "document as JSON instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the register already holds assets (for first-start scripts)",
        )
        parser.add_argument(
            "--assets",
            type=int,
            default=0,
            metavar="N",
            help="scale the hospital to about N assets (default: the standard demo, ~380)",
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="varies serial numbers and versions (default 1)"
        )
        parser.add_argument(
            "--output", metavar="FILE", help="write the document as JSON to FILE ('-' for stdout)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["assets"] < 0:
            raise CommandError("--assets must be 0 (the standard demo) or a positive count")
        if opts["output"] is None and opts["if_empty"] and Asset.objects.exists():
            self.stdout.write(
                f"the register already holds {Asset.objects.count()} assets; demo not loaded"
            )
            return
        started = time.perf_counter()
        doc = build_demo_document(assets=opts["assets"], seed=opts["seed"])
        if opts["output"] is not None:
            self._write(doc, opts["output"])
            return
        try:
            result = import_document(
                doc, actor=Actor(user_id=None, name="demo (cli)"), progress=self._progress()
            )
        except ImportRejected as exc:
            for error in exc.errors[:50]:
                self.stderr.write(str(error))
            raise CommandError(
                f"the importer refused the demo document: {len(exc.errors)} error(s)", returncode=1
            ) from None
        if opts["assets"] == 0:
            self._evidence()
        seconds = time.perf_counter() - started
        self._summary(doc)
        self.stdout.write(
            f"demo loaded in {seconds:.1f} s: {result.created} created, "
            f"{result.updated} updated, {result.deleted} deleted"
        )

    def _evidence(self) -> None:
        """The standard demo comes with a network scan and a Zeek log in which a few devices
        are missing from the register and one flow is undeclared, so Discovery has something
        to show on the first visit."""
        from medshield.discovery.observe import import_file

        folder = Path(__file__).resolve().parents[3] / "discovery" / "demo"
        for path in sorted(folder.iterdir()):
            if path.suffix in {".xml", ".log"}:
                outcome = import_file(path, actor=Actor(user_id=None, name="demo (cli)"))
                self.stdout.write(f"evidence {path.name}: {outcome.source}")

    def _write(self, doc: dict[str, Any], path: str) -> None:
        text = json.dumps(doc, ensure_ascii=False, indent=1)
        if path == "-":
            sys.stdout.write(text + "\n")
            return
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        self.stderr.write(f"wrote {len(doc['assets'])} assets to {path}")

    def _progress(self) -> Any:
        done_stages: set[str] = set()

        def report(stage: str, done: int, total: int) -> None:
            # one line per finished stage: readable in logs and terminals alike
            if done == total and stage not in done_stages:
                done_stages.add(stage)
                self.stderr.write(f"  {stage}: {total}")

        return report

    def _summary(self, doc: dict[str, Any]) -> None:
        buildings = doc["places"][0]["buildings"]
        floors = [f for b in buildings for f in b["floors"]]
        rooms = sum(len(f["rooms"]) for f in floors)
        kinds = Counter(a["kind"] for a in doc["assets"])
        self.stdout.write(
            f"{len(doc['assets'])} assets ("
            + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
            + f"); {len(buildings)} buildings, {len(floors)} floors, {rooms} rooms; "
            f"{len(doc['subnets'])} subnets, {len(doc['cabling'])} cables, "
            f"{len(doc['external_connections'])} external connections"
        )
