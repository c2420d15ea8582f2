"""One at a time across processes: a named lock every app process and job worker respects.

Two job workers may each pick up a re-match while the other's is still running; both would then
write the same findings rows, and on PostgreSQL their inserts can deadlock. A lock held for the
whole run makes the second one wait and then find its work done.

PostgreSQL: a session advisory lock (released when the block ends, or by the server when the
connection dies); inside a caller's transaction, a transaction advisory lock, held until that
transaction ends. SQLite: an exclusive ``flock`` on a file beside the database, which is right
because a SQLite register lives on one machine. The lock is re-entrant within a thread, so an
entry point may call another that takes the same lock.
"""

from __future__ import annotations

import fcntl
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

_held = threading.local()


@contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Hold the lock ``name`` for the block; wait while another process or thread holds it."""
    depth: dict[str, int] = _held.__dict__.setdefault("depth", {})
    if depth.get(name):
        depth[name] += 1
        try:
            yield
        finally:
            depth[name] -= 1
        return
    with _acquired(name):
        depth[name] = 1
        try:
            yield
        finally:
            depth[name] = 0


@contextmanager
def _acquired(name: str) -> Iterator[None]:
    if connection.vendor == "postgresql":
        key = zlib.crc32(f"medshield:{name}".encode())
        if connection.in_atomic_block:
            # Inside a caller's transaction what the block writes stays unseen until that
            # transaction ends, so the lock must last as long: the server releases it then.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    folder = settings.DATA_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(folder / f"{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
