"""Forked helper processes of an import: the NVD parser, the prepared file's checks.

A helper runs beside the process that holds the import's transaction, on the machine's other
core, and reports on a pipe in MessagePack messages. Only the command line forks (one thread:
forking a process that runs other threads could copy a lock some thread holds); the helper
never touches the parent's database connection, and ends with it (``PR_SET_PDEATHSIG``), so a
helper of an import killed midway does not run on.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from django.utils import translation

from medshield.vulns.importers.base import FeedRejected

_PR_SET_PDEATHSIG = 1

#: what a helper's work is handed to send a message back
Report = Callable[[Any], None]


def can_fork() -> bool:
    """Whether a helper may be forked here: one thread, and fork available."""
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


@dataclass
class Helper:
    """A running helper and the pipe it reports on."""

    process: Any
    receive: Any

    def message(self) -> Any:
        """The next message (EOFError when the helper ended without one)."""
        return msgspec.msgpack.decode(self.receive.recv_bytes())

    def stop(self) -> None:
        self.receive.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def start(work: Callable[..., None], *args: Any, name: str) -> Helper:
    """Fork a helper running ``work(*args, report)``.

    ``report(message)`` sends one message back. When the work raises FeedRejected the last
    message is ``("refused", reason)``, when it fails otherwise ``("failed", traceback)``.
    """
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(
        target=_run,
        args=(work, args, send, translation.get_language() or "en"),
        name=name,
        daemon=True,
    )
    process.start()
    send.close()
    return Helper(process, receive)


def _run(work: Callable[..., None], args: tuple[Any, ...], send: Any, language: str) -> None:
    die_with_parent()
    translation.activate(language)
    encode = msgspec.msgpack.Encoder().encode

    def report(message: Any) -> None:
        send.send_bytes(encode(message))

    try:
        work(*args, report)
    except FeedRejected as exc:
        report(("refused", str(exc)))
    except (BrokenPipeError, ConnectionResetError):
        return  # the importer stopped listening: it has its own error to report
    except Exception:  # noqa: BLE001 - reported to the importer, which raises it
        report(("failed", traceback.format_exc()[-2000:]))


def die_with_parent() -> None:
    """Have the kernel end this process when its parent ends (Linux; elsewhere nothing)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
