"""Offline feed bundles: many feed files in one ``.tar.zst`` carried onto the closed network.

A bundle is a tar archive compressed with Zstandard whose first member is ``manifest.json``::

    {"format": "medshield-feed-bundle", "version": 1, "created": "2026-11-26T21:00:00+00:00",
     "files": [{"name": "nvdcve-2.0-2024.json.gz", "format": "nvd", "sha256": "…", "size": 123}]}

``feeds bundle`` writes one from files fetched on a connected machine (checking that each is a
feed it can read); ``feeds import`` recognises a bundle by its Zstandard magic number and imports
every member listed in the manifest, each in its own transaction, after checking its hash.

Reading is defensive like every other import: the archive is streamed (never extracted by the
names it carries, so ``../`` or absolute names cannot write anywhere), only regular files are
read, inflation is capped, and a member that is not in the manifest or whose hash differs is
refused.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.utils.translation import gettext as _

from medshield.vulns.importers import detect, import_path
from medshield.vulns.importers.base import FeedFile, FeedRejected, max_decompressed_bytes
from medshield.vulns.models import FeedImport

BUNDLE_FORMAT = "medshield-feed-bundle"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: more members than any real bundle has (NVD yearly files + KEV + EPSS + advisories)
MAX_MEMBERS = 20_000
#: a bundle inflating more than this many times the compressed bytes read is a bomb (feeds
#: compress about 10:1) ...
MAX_RATIO = 200
#: ... once past this many inflated bytes
RATIO_FLOOR = 64 * 1024 * 1024
_MANIFEST_MAX = 16 * 1024 * 1024


def is_bundle(path: str) -> bool:
    """Whether the file starts with the Zstandard magic number."""
    with open(path, "rb") as handle:
        return handle.read(4) == ZSTD_MAGIC


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def write_bundle(out: str, files: list[str]) -> dict[str, Any]:
    """Write ``files`` into the bundle ``out``; FeedRejected when one is not a readable feed."""
    import zstandard

    entries = []
    names: set[str] = set()
    for path in files:
        with FeedFile(path) as feed:
            fmt, _extra = detect(feed.stream.read(64 * 1024))
        name = os.path.basename(path)
        if name in names:
            raise FeedRejected(_("two files are named {name}").format(name=name))
        names.add(name)
        entries.append(
            {
                "name": name,
                "format": fmt,
                "sha256": _sha256_file(path),
                "size": os.path.getsize(path),
            }
        )
    manifest = {
        "format": BUNDLE_FORMAT,
        "version": 1,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "files": entries,
    }
    data = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
    compressor = zstandard.ZstdCompressor(level=10)
    with open(out, "wb") as raw, compressor.stream_writer(raw) as packed:
        with tarfile.open(fileobj=packed, mode="w|") as tar:
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            info.mtime = int(datetime.datetime.now(datetime.UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
            for path, entry in zip(files, entries, strict=True):
                tar.add(path, arcname=entry["name"], recursive=False)
    return manifest


class _CappedReader(io.RawIOBase):
    """Refuses a stream that inflates past ``limit`` bytes (a Zstandard bomb)."""

    def __init__(self, inner: IO[bytes], limit: int, raw: IO[bytes] | None = None) -> None:
        self.inner = inner
        self.limit = limit
        self.total = 0
        self.raw = raw  # the compressed file, whose position says how much was inflated

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.inner.read(len(buffer))
        except Exception as exc:  # noqa: BLE001 - zstandard raises its own ZstdError
            raise FeedRejected(
                _("the bundle is damaged or truncated: {error}").format(error=exc)
            ) from None
        self.total += len(data)
        if self.total > self.limit:
            raise FeedRejected(
                _("the bundle inflates to more than {mb} MB; refused as a possible bomb").format(
                    mb=self.limit >> 20
                )
            )
        if self.raw is not None and self.total > RATIO_FLOOR:
            if self.total > MAX_RATIO * max(self.raw.tell(), 1):
                raise FeedRejected(
                    _(
                        "the bundle inflates more than {ratio} times its size; refused as a "
                        "possible bomb"
                    ).format(ratio=MAX_RATIO)
                )
        buffer[: len(data)] = data
        return len(data)


@dataclass
class MemberResult:
    """What became of one member of a bundle: its import record, or why it was refused."""

    name: str
    record: FeedImport | None = None
    error: str = ""


def import_bundle(
    path: str, *, user: Any = None, user_name: str = "", max_inflated: int | None = None
) -> Iterator[MemberResult]:
    """Import every feed of a bundle, yielding one result per member as it goes.

    Raises FeedRejected when the bundle itself is unusable (no manifest, damaged, a bomb);
    a single bad member is reported and the others are still imported.
    """
    import zstandard

    limit = max_inflated or max_decompressed_bytes()
    with open(path, "rb") as raw, tempfile.TemporaryDirectory(prefix="medshield-bundle-") as tmp:
        reader = zstandard.ZstdDecompressor().stream_reader(raw)
        stream = io.BufferedReader(_CappedReader(reader, limit, raw), buffer_size=256 * 1024)
        try:
            tar = tarfile.open(fileobj=stream, mode="r|")
        except tarfile.TarError as exc:
            raise FeedRejected(_("not a feed bundle: {error}").format(error=exc)) from None
        manifest: dict[str, Any] | None = None
        listed: dict[str, dict[str, Any]] = {}
        seen = 0
        try:
            for member in tar:
                seen += 1
                if seen > MAX_MEMBERS:
                    raise FeedRejected(_("the bundle has too many members"))
                if manifest is None:
                    manifest = _manifest(tar, member)
                    listed = {f["name"]: f for f in manifest["files"]}
                    continue
                if not member.isfile():
                    yield MemberResult(member.name, error=_("not a regular file; ignored"))
                    continue
                entry = listed.pop(member.name, None)
                if entry is None:
                    yield MemberResult(member.name, error=_("not listed in the manifest"))
                    continue
                yield _import_member(tar, member, entry, tmp, user, user_name, max_inflated)
        except tarfile.TarError as exc:
            raise FeedRejected(
                _("the bundle is damaged or truncated: {error}").format(error=exc)
            ) from None
        if manifest is None:
            raise FeedRejected(_("the bundle is empty"))
        for name in listed:
            yield MemberResult(name, error=_("listed in the manifest but missing"))


def _manifest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> dict[str, Any]:
    if member.name != "manifest.json" or not member.isfile() or member.size > _MANIFEST_MAX:
        raise FeedRejected(_("not a feed bundle: its first member must be manifest.json"))
    handle = tar.extractfile(member)
    try:
        manifest = json.loads(handle.read() if handle else b"")
    except (ValueError, RecursionError):
        raise FeedRejected(_("the bundle manifest is not valid JSON")) from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != BUNDLE_FORMAT
        or not isinstance(manifest.get("files"), list)
        or not all(
            isinstance(f, dict)
            and isinstance(f.get("name"), str)
            and isinstance(f.get("sha256"), str)
            for f in manifest["files"]
        )
    ):
        raise FeedRejected(_("the bundle manifest is not a medshield feed bundle manifest"))
    return manifest


def _import_member(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    entry: dict[str, Any],
    tmp: str,
    user: Any,
    user_name: str,
    max_inflated: int | None,
) -> MemberResult:
    # Written under a name of our own: the member's name never reaches the file system.
    target = os.path.join(tmp, "member")
    digest = hashlib.sha256()
    source = tar.extractfile(member)
    with open(target, "wb") as out:
        while source is not None and (chunk := source.read(1024 * 1024)):
            digest.update(chunk)
            out.write(chunk)
    try:
        if digest.hexdigest() != entry["sha256"]:
            return MemberResult(member.name, error=_("its SHA-256 differs from the manifest's"))
        try:
            record = import_path(
                target,
                fmt=entry.get("format") or "auto",
                user=user,
                user_name=user_name,
                file_name=member.name,
                max_inflated=max_inflated,
            )
        except FeedRejected as exc:
            return MemberResult(member.name, error=str(exc))
        return MemberResult(member.name, record=record)
    finally:
        os.unlink(target)
