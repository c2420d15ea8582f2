"""``medshield match``: match the register and its SBOMs against the stored feeds now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.assets.models import Asset
from medshield.core.progress import Bar
from medshield.findings import service


class Command(BaseCommand):
    help = (
        "Match assets and SBOM components against the stored vulnerabilities and update the "
        "findings (all of them, or only --assets / --vulns)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--assets", nargs="+", metavar="TAG", help="re-match only these assets (asset tags)"
        )
        parser.add_argument(
            "--vulns",
            nargs="+",
            metavar="ID",
            help="re-match only these vulnerabilities (CVE or advisory ids)",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        bar = Bar("matching")
        progress = None if opts["quiet"] else bar.report
        if opts["assets"] and opts["vulns"]:
            raise CommandError("give --assets or --vulns, not both", returncode=2)
        if opts["assets"]:
            tags = list(dict.fromkeys(opts["assets"]))
            found = dict(Asset.objects.filter(asset_tag__in=tags).values_list("asset_tag", "pk"))
            missing = [t for t in tags if t not in found]
            if missing:
                raise CommandError(f"no asset with tag {', '.join(missing)}", returncode=2)
            stats = service.rematch_assets(found.values(), progress=progress)
        elif opts["vulns"]:
            from medshield.vulns.models import Vulnerability

            ids = list(dict.fromkeys(opts["vulns"]))
            known = set(
                Vulnerability.objects.filter(vuln_id__in=ids).values_list("vuln_id", flat=True)
            )
            missing = [v for v in ids if v not in known]
            if missing:
                raise CommandError(f"no vulnerability {', '.join(missing)}", returncode=2)
            stats = service.rematch_vulnerabilities(ids, progress=progress)
        else:
            stats = service.match_all(progress=progress)
        bar.end()
        self.stdout.write(stats.summary())
