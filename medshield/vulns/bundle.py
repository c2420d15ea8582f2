"""Offline feed bundles: many feed files in one ``.tar.zst`` carried onto the closed network.

A bundle is a tar archive compressed with Zstandard whose first member is ``manifest.json``::

    {"format": "medshield-feed-bundle", "version": 1, "created": "2026-11-26T21:00:00+00:00",
     "files": [{"name": "nvdcve-2.0-2024.json.gz", "format": "nvd", "sha256": "…", "size": 123}]}

``feeds bundle`` writes one from files fetched on a connected machine (checking that each is a
feed it can read); ``feeds import`` recognises a bundle by its Zstandard magic number and imports
every member listed in the manifest, each in its own transaction, after checking its hash.

NVD files are not carried as they are but *prepared*: read on the connected machine by the
importer's own parser into one SQLite file of the rows it stores (member ``nvd-prepared.sqlite3``
of format ``nvd-prepared``, listing its source files), which the closed network checks and
merges several times faster than it could read the JSON (see
:mod:`medshield.vulns.importers.nvd_prepared`). ``feeds bundle --raw`` carries them as they are,
for a closed network running another medshield version.

Reading is defensive like every other import: the archive is streamed (never extracted by the
names it carries, so ``../`` or absolute names cannot write anywhere), only regular files are
read, inflation is capped, and a member that is not in the manifest or whose hash differs is
refused.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import json
import os
import queue
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.utils.translation import gettext as _

from medshield.vulns.importers import detect, import_path, nvd_prepared
from medshield.vulns.importers.base import FeedFile, FeedRejected, Progress, max_decompressed_bytes
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


def write_bundle(
    out: str, files: list[str], *, raw: bool = False, progress: Progress | None = None
) -> dict[str, Any]:
    """Write ``files`` into the bundle ``out``; FeedRejected when one is not a readable feed.

    The NVD files are prepared into one member unless ``raw`` (see the module docstring);
    ``progress`` is told how far that got.
    """
    with tempfile.TemporaryDirectory(prefix="medshield-bundle-") as tmp:
        return _write_bundle(out, files, raw, progress, tmp)


def _write_bundle(
    out: str, files: list[str], raw: bool, progress: Progress | None, tmp: str
) -> dict[str, Any]:
    import zstandard

    entries = []
    names: set[str] = set()
    nvd_files: list[str] = []
    for path in files:
        with FeedFile(path) as feed:
            fmt, _extra = detect(feed.stream.read(64 * 1024))
        name = os.path.basename(path)
        if name in names:
            raise FeedRejected(_("two files are named {name}").format(name=name))
        names.add(name)
        entry = {
            "name": name,
            "format": fmt,
            "sha256": _sha256_file(path),
            "size": os.path.getsize(path),
        }
        if fmt == "nvd" and not raw:
            nvd_files.append(path)
            entry["path"] = path
        entries.append(entry)
    paths = [path for path, entry in zip(files, entries, strict=True) if "path" not in entry]
    if nvd_files:
        sources = [entry for entry in entries if entry.pop("path", None)]
        entries = [entry for entry in entries if entry not in sources]
        prepared = os.path.join(tmp, nvd_prepared.PREPARED_NAME)
        done = nvd_prepared.prepare(nvd_files, prepared, progress)
        entries.insert(
            0,
            {
                "name": nvd_prepared.PREPARED_NAME,
                "format": nvd_prepared.MEMBER_FORMAT,
                "sha256": _sha256_file(prepared),
                "size": os.path.getsize(prepared),
                "records": done.records,
                "sources": sources,
            },
        )
        paths.insert(0, prepared)
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
            for path, entry in zip(paths, entries, strict=True):
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
    with open(path, "rb") as raw, _Scratch() as tmp:
        reader = zstandard.ZstdDecompressor().stream_reader(raw)
        stream = io.BufferedReader(_CappedReader(reader, limit, raw), buffer_size=256 * 1024)
        try:
            tar = tarfile.open(fileobj=stream, mode="r|", bufsize=_COPY_CHUNK)
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


#: a member is unpacked into memory-backed storage when it takes at most this share of its room
_SHM_SHARE = 0.25
_SHM = "/dev/shm"  # noqa: S108 - only a mkdtemp() folder (0700, random name) is made there


class _Scratch:
    """Where members are unpacked, each read once and deleted: folders only this user can read,
    in memory-backed /dev/shm when it has room to spare (a prepared NVD member is hundreds of
    megabytes that would otherwise go to disk and back), else in the temporary folder."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._folders: dict[str | None, str] = {}

    def __enter__(self) -> _Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def folder_for(self, size: int) -> str:
        base = None
        try:
            if os.path.isdir(_SHM) and size <= _SHM_SHARE * shutil.disk_usage(_SHM).free:
                base = _SHM
        except OSError:
            base = None
        if base not in self._folders:
            self._folders[base] = self._stack.enter_context(
                tempfile.TemporaryDirectory(prefix="medshield-bundle-", dir=base)
            )
        return self._folders[base]


#: bytes read from a member at a time
_COPY_CHUNK = 4 * 1024 * 1024


def _copy(source: IO[bytes], target: str, digest: Any) -> None:
    """Copy a member into the file ``target``, hashing it on the way.

    The inflating is done here, the hashing and writing in a second thread: each is C code
    that lets go of the interpreter lock, so the two overlap (a prepared NVD member is hundreds
    of megabytes). An error of the writer is raised here once the reading stopped.
    """
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
    failed: list[BaseException] = []

    def write() -> None:
        with open(target, "wb") as out:
            while (chunk := chunks.get()) is not None:
                if failed:
                    continue  # drain, so the reader never waits on a full queue
                try:
                    digest.update(chunk)
                    out.write(chunk)
                except BaseException as exc:  # noqa: BLE001 - raised by the reader below
                    failed.append(exc)

    writer = threading.Thread(target=write, name="medshield-bundle-writer", daemon=True)
    writer.start()
    try:
        while not failed and (chunk := source.read(_COPY_CHUNK)):
            chunks.put(chunk)
    finally:
        chunks.put(None)
        writer.join()
    if failed:
        raise failed[0]


def _import_member(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    entry: dict[str, Any],
    tmp: _Scratch,
    user: Any,
    user_name: str,
    max_inflated: int | None,
) -> MemberResult:
    # Written under a name of our own: the member's name never reaches the file system.
    target = os.path.join(tmp.folder_for(member.size), "member")
    digest = hashlib.sha256()
    source = tar.extractfile(member)
    if source is not None:
        _copy(source, target, digest)
    try:
        if digest.hexdigest() != entry["sha256"]:
            return MemberResult(member.name, error=_("its SHA-256 differs from the manifest's"))
        try:
            if entry.get("format") == nvd_prepared.MEMBER_FORMAT:
                record = nvd_prepared.import_prepared(
                    target,
                    file_name=member.name,
                    sha256=entry["sha256"],
                    user=user,
                    user_name=user_name,
                )
                return MemberResult(member.name, record=record)
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
