"""``medshield feeds import FILE...``: load vulnerability feeds from files (offline)."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.audit.log import cli_username
from medshield.audit.log import record as audit_record
from medshield.audit.models import AuditAction
from medshield.core.progress import Bar, megabytes
from medshield.vulns.bundle import import_bundle, is_bundle
from medshield.vulns.importers import FORMATS, FeedRejected, import_path
from medshield.vulns.models import FeedImport


class Command(BaseCommand):
    # The system checks import every URL module (the whole API) first: seconds before the
    # first record of a feed is read, for checks that say nothing about importing files.
    requires_system_checks: list[str] = []
    help = (
        "Import vulnerability feed files or bundles (format detected from the content).\n\n"
        "Reads NVD CVE API 2.0 JSON, JVN VULDEF/JVNRSS XML, CSAF "
        "2.0 JSON, the CISA KEV JSON catalog, FIRST EPSS CSV (gzip too), or bundles of them "
        "made by `feeds bundle`; SBOMs (CycloneDX, SPDX) and VEX documents (OpenVEX, CycloneDX) "
        "too, stored unattached (`sbom import` attaches an SBOM to assets).\n\n"
        "The format is detected from the content. Each file is imported whole or not at all.\n"
        "Exit status: 0 every file imported, 1 at least one file refused (the others were "
        "still imported), 2 usage error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="feed files to import")
        parser.add_argument(
            "--format",
            choices=("auto", *FORMATS),
            default="auto",
            help="refuse files not of this format (default: detect from the content)",
        )
        parser.add_argument("--user", metavar="NAME", help="login the imports are recorded under")

    def handle(self, *args: Any, **opts: Any) -> None:
        self._bar = Bar("")
        user = None
        user_name = ""
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"no login named {opts['user']!r}", returncode=2)
            user_name = user.get_username()
        else:
            try:
                user_name = f"{getpass.getuser()} (cli)"
            except (KeyError, OSError):  # no passwd entry in some containers
                user_name = "unknown (cli)"
        refused = 0
        for path in opts["files"]:
            try:
                if is_bundle(path):
                    refused += self._bundle(path, user, user_name)
                    continue
                record = import_path(
                    path,
                    fmt=opts["format"],
                    user=user,
                    user_name=user_name,
                    progress=self._start_bar(path),
                )
            except FeedRejected as exc:
                self._bar.end()
                handled = self._sbom_or_vex(path, user_name) if opts["format"] == "auto" else None
                if handled is None:
                    refused += 1
                    self.stderr.write(f"{path}: refused, nothing imported: {exc}")
                elif not handled:
                    refused += 1
                continue
            except OSError as exc:
                self._bar.end()
                refused += 1
                self.stderr.write(f"{path}: cannot be read: {exc.strerror or exc}")
                continue
            self._bar.end()
            self._summary(path, record)
        if refused:
            raise CommandError(f"{refused} file(s) refused; the others were imported", returncode=1)

    def _sbom_or_vex(self, path: str, user_name: str) -> bool | None:
        """Import ``path`` as an SBOM or a VEX document when it is one (True: imported, False:
        refused with its reasons printed); None when it is neither.

        Tried only after the feed detector, which reads a few kilobytes, has said the file is no
        feed: the SBOM detector parses the whole file, which a feed of hundreds of megabytes
        should not pay for. An SBOM imported here is stored unattached; `medshield sbom import`
        attaches it to assets or to a product.
        """
        from medshield.core.actor import Actor
        from medshield.register.errors import ImportRejected
        from medshield.sboms.importers import detect, import_sbom, import_vex
        from medshield.sboms.readers import max_bytes

        if os.path.getsize(path) > max_bytes():
            return None
        with open(path, "rb") as handle:
            data = handle.read()
        kind = detect(data)
        if kind is None:
            return None
        actor = Actor(user_id=None, name=user_name)
        name = os.path.basename(path)
        try:
            if kind in {"openvex", "cyclonedx-vex"}:
                result: object = import_vex(data, filename=name, actor=actor)
            else:
                result = import_sbom(data, filename=name, actor=actor)
        except ImportRejected as exc:
            self.stderr.write(f"{path}: refused, nothing imported: {exc}")
            return False
        audit_record(
            AuditAction.IMPORT,
            username=cli_username(),
            target=f"{kind} {path}"[:300],
            detail={"kind": kind, "result": str(result)[:500]},
        )
        self.stdout.write(f"{path}: {kind}: {result}")
        return True

    def _summary(self, path: str, record: FeedImport) -> None:
        audit_record(
            AuditAction.IMPORT,
            username=cli_username(),
            target=f"feed {path}"[:300],
            detail={
                "kind": record.kind,
                "created": record.created,
                "updated": record.updated,
                "unchanged": record.unchanged,
                "skipped": record.refused,
            },
        )
        for note in record.notes.splitlines()[:20]:
            self.stderr.write(f"{path}: skipped {note}")
        self.stdout.write(
            f"{path}: {record.kind}: {record.created} created, {record.updated} updated, "
            f"{record.unchanged} unchanged, {record.refused} skipped"
        )

    def _bundle(self, path: str, user: Any, user_name: str) -> int:
        """Import every member of a bundle; the number of members refused."""
        refused = 0
        try:
            for result in import_bundle(path, user=user, user_name=user_name):
                where = f"{path}:{result.name}"
                if result.record is None:
                    refused += 1
                    self.stderr.write(f"{where}: refused, nothing imported: {result.error}")
                else:
                    self._summary(where, result.record)
        except FeedRejected as exc:
            # The members reported above were imported; the rest of the bundle was not read.
            refused += 1
            self.stderr.write(f"{path}: bundle refused: {exc}")
        return refused

    def _start_bar(self, path: str) -> Any:
        self._bar = Bar(f"{path[-40:]:<40}", megabytes)
        return self._bar.report
