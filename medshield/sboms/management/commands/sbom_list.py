"""``medshield sbom list``: each SBOM, its component count and the assets that share it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from medshield.sboms.models import Sbom


class Command(BaseCommand):
    help = "List the SBOMs: format, product, components and the assets sharing each one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all-assets", action="store_true", help="list every asset tag, not the first ten"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        sboms = list(Sbom.objects.order_by("pk"))
        if not sboms:
            self.stdout.write("no SBOMs imported")
            return
        for sbom in sboms:
            tags = list(
                sbom.applicable_assets().order_by("asset_tag").values_list("asset_tag", flat=True)
            )
            if sbom.attached_to_product:
                target = (
                    f"product {sbom.manufacturer} / {sbom.model} / {sbom.software_version or '-'}"
                )
            elif tags:
                target = "assets"
            else:
                target = "not attached"
            shown = tags if opts["all_assets"] else tags[:10]
            more = f" (+{len(tags) - len(shown)} more)" if len(tags) > len(shown) else ""
            self.stdout.write(
                f"#{sbom.pk}  {sbom}  [{sbom.format} {sbom.spec_version}]  "
                f"{sbom.component_count} components  {target}: "
                f"{len(tags)} asset(s){': ' if shown else ''}{', '.join(shown)}{more}"
            )
            self.stdout.write(f"      {sbom.document_id}  imported {sbom.created:%Y-%m-%d %H:%M}")
