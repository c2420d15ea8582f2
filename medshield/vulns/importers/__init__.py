"""Import vulnerability feeds from files: format detection, the importer registry, the record.

:func:`import_path` is what the command and the web page call. It hashes the file, decides its
format from its first bytes (never its name: ``.json`` says nothing about NVD versus CSAF),
runs the importer of that format in one transaction and records a
:class:`~medshield.vulns.models.FeedImport`. A refused file raises :class:`FeedRejected` and
leaves the database as it was.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import ijson
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medshield.vulns.importers.base import (
    FeedFile,
    FeedRejected,
    ImportStats,
    Progress,
    record_import,
)
from medshield.vulns.importers.csaf import import_csaf
from medshield.vulns.importers.epss import import_epss
from medshield.vulns.importers.jvn import import_jvn
from medshield.vulns.importers.kev import import_kev
from medshield.vulns.importers.nvd import import_nvd
from medshield.vulns.models import FeedImport

__all__ = ["FORMATS", "IMPORTERS", "FeedRejected", "ImportStats", "detect", "import_path"]

#: how much of the (inflated) file format detection reads
_HEAD = 64 * 1024

#: a detected format: (registry key, extra keyword arguments for the importer)
Detected = tuple[str, dict[str, Any]]

Importer = Callable[[FeedFile, str, dict[str, Any], Progress | None], ImportStats]

#: format name → importer; ``feeds import --format`` offers these keys
IMPORTERS: dict[str, Importer] = {
    "nvd": lambda feed, sha, extra, progress: import_nvd(feed, progress=progress, **extra),
    "jvn": lambda feed, sha, extra, progress: import_jvn(feed, sha256=sha, progress=progress),
    "csaf": lambda feed, sha, extra, progress: import_csaf(feed, sha256=sha),
    "kev": lambda feed, sha, extra, progress: import_kev(feed, progress=progress),
    "epss": lambda feed, sha, extra, progress: import_epss(feed, progress=progress),
}
FORMATS: tuple[str, ...] = tuple(IMPORTERS)

_EXPECTED = gettext_lazy(
    "expected NVD CVE API 2.0 JSON, JVN VULDEF or JVNRSS XML, CSAF JSON, the CISA KEV JSON "
    "catalog or a FIRST EPSS CSV"
)


def _json_keys(head: bytes) -> set[str]:
    """The ijson prefixes of the keys seen in the first bytes of a JSON file."""
    keys: set[str] = set()
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":
            raise FeedRejected(
                _("the JSON is not valid UTF-8 (byte {position})").format(position=exc.start)
            ) from None
        head = head[: exc.start]  # the head was cut inside a character: drop its first bytes
    try:
        for prefix, event, value in ijson.parse(head):
            if event == "map_key" and prefix.count(".") < 3:
                keys.add(f"{prefix}.{value}" if prefix else value)
            if len(keys) > 2000:
                break
    except ijson.IncompleteJSONError:
        pass  # the head ends mid-document, as it normally does
    except ijson.JSONError as exc:
        raise FeedRejected(
            _("the JSON is malformed: {error}").format(error=str(exc)[:200])
        ) from None
    return keys


def detect(head: bytes) -> Detected:
    """The format of a feed from its first bytes; FeedRejected when it is none of ours."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        if re.search(rb"<!(DOCTYPE|ENTITY)", stripped):
            raise FeedRejected(
                _(
                    "the XML declares a DTD (<!DOCTYPE>); feeds never do, and its entities can "
                    "expand into gigabytes (an XML bomb), so it is refused"
                )
            )
        if b"VULDEF-Document" in stripped or b"http://jvn.jp/rss/mod_sec/" in stripped:
            if b"<Vulinfo" in stripped or b"<item" in stripped or b"VULDEF-Document" in stripped:
                return "jvn", {}
        if b"http://jvndb.jvn.jp/myjvn/" in stripped:
            raise FeedRejected(
                _(
                    "a MyJVN response without vulnerability records (vendor, product or alert "
                    "list); import getVulnDetailInfo or getVulnOverviewList results"
                )
            )
        raise FeedRejected(
            _("an XML file of an unknown kind; {expected}").format(expected=_EXPECTED)
        )
    if stripped.startswith(b"{"):
        if b"jvndb.jvn.jp/schema/" in stripped:
            raise FeedRejected(
                _(
                    "MyJVN API 4.0 (feed=oka) JSON: a CSAF-like dialect that is not CSAF; import "
                    "the feed=hnd XML (VULDEF or JVNRSS) of the same records"
                )
            )
        keys = _json_keys(stripped)
        # CSAF may put "document" after a long product tree, and its vulnerabilities have a
        # "cve" string too: NVD's "cve" is an object (its "id" key tells them apart).
        csaf_keys = {"document.csaf_version", "document.tracking", "product_tree"}
        if keys & csaf_keys or "vulnerabilities.item.product_status" in keys:
            return "csaf", {}
        if "vulnerabilities.item.cve.id" in keys or (
            keys >= {"format", "vulnerabilities"} and b'"NVD_CVE"' in stripped
        ):
            return "nvd", {"wrapped": True}
        if {"id", "sourceIdentifier"} <= keys and re.search(rb'"id"\s*:\s*"CVE-', stripped):
            return "nvd", {"wrapped": False}
        if "catalogVersion" in keys or "vulnerabilities.item.cveID" in keys:
            return "kev", {}
        if "document" in keys:
            return "csaf", {}
        if "canonical_url" in keys or "feed" in keys or "metadata_version" in keys:
            raise FeedRejected(
                _(
                    "a CSAF provider metadata or ROLIE feed file, which lists advisories but holds "
                    "none; import the advisory files"
                )
            )
        raise FeedRejected(
            _("a JSON file of an unknown kind; {expected}").format(expected=_EXPECTED)
        )
    first_line = stripped.split(b"\n", 1)[0].strip().lower()
    if (
        first_line.startswith(b"#model_version")
        or first_line.replace(b" ", b"") == b"cve,epss,percentile"
    ):
        return "epss", {}
    if first_line.startswith(b"cveid,vendorproject"):
        raise FeedRejected(_("the CISA KEV catalog as CSV; import its JSON form instead"))
    if not stripped:
        raise FeedRejected(_("the file is empty"))
    raise FeedRejected(_("not a feed medshield reads; {expected}").format(expected=_EXPECTED))


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def import_path(
    path: str,
    *,
    fmt: str = "auto",
    user: Any = None,
    user_name: str = "",
    file_name: str | None = None,
    progress: Progress | None = None,
    max_inflated: int | None = None,
) -> FeedImport:
    """Import one feed file in one transaction and return the record of the import.

    Raises FeedRejected (nothing stored) when the file is malformed, hostile or not of
    ``fmt``. ``max_inflated`` caps what a gzip may inflate to (default: the settings').
    """
    started = timezone.now()
    sha256 = _sha256(path)
    with FeedFile(path, max_inflated=max_inflated) as feed:
        head = feed.stream.read(_HEAD)
    detected, extra = detect(head)
    if fmt not in ("auto", detected):
        raise FeedRejected(
            _("the file is {found}, not {wanted}").format(found=detected, wanted=fmt)
        )
    with FeedFile(path, max_inflated=max_inflated) as feed, transaction.atomic():
        stats = IMPORTERS[detected](feed, sha256, extra, progress)
        return record_import(
            detected,
            stats,
            file_name=file_name or path,
            sha256=sha256,
            size=feed.size,
            started=started,
            user=user,
            user_name=user_name,
        )
