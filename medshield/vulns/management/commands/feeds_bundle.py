"""``medshield feeds bundle OUT.tar.zst FILE...``: pack feed files for the closed network."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.core.progress import Bar, megabytes
from medshield.vulns.bundle import write_bundle
from medshield.vulns.importers import FeedRejected


class Command(BaseCommand):
    help = (
        "Pack feed files into one .tar.zst bundle for the closed network.\n\n"
        "Run it on a connected machine over the files fetched there; the bundle carries a "
        "manifest of their formats and SHA-256 hashes, and `feeds import BUNDLE` loads it.\n"
        "NVD files are read here and carried as the rows medshield stores (one checked SQLite "
        "member), which the closed network loads several times faster than the JSON; --raw "
        "carries them as they are (for a closed network running another medshield version).\n"
        "Exit status: 0 written, 1 a file is not a feed medshield reads (nothing written)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", metavar="OUT.tar.zst", help="the bundle to write")
        parser.add_argument("files", nargs="+", metavar="FILE", help="feed files to pack")
        parser.add_argument(
            "--raw",
            action="store_true",
            help="carry NVD files as they are instead of prepared",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        bar = Bar("preparing NVD records", megabytes)
        try:
            manifest = write_bundle(
                opts["out"], opts["files"], raw=opts["raw"], progress=bar.report
            )
        except FeedRejected as exc:
            raise CommandError(f"not bundled: {exc}", returncode=1) from None
        except OSError as exc:
            raise CommandError(f"not bundled: {exc}", returncode=1) from None
        bar.end()
        for entry in manifest["files"]:
            self.stdout.write(f"{entry['name']}: {entry['format']}, {entry['size']} bytes")
            for source in entry.get("sources", []):
                self.stdout.write(f"  from {source['name']}: {source['size']} bytes")
        self.stdout.write(f"{opts['out']}: {len(manifest['files'])} file(s)")
