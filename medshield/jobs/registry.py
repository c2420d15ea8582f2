"""The kinds of job a worker can run: a name → function registry filled by a decorator.

A kind is registered with ``@job_kind("feeds.import")`` on a function ``fn(ctx, **arguments)``
that returns a JSON-able result. The registry is filled by importing :mod:`medshield.jobs.kinds`
and the modules named in ``MEDSHIELD_JOB_MODULES`` (comma-separated dotted paths: a hospital's
own kinds, or a test's), so the app processes and the workers, which may run on different hosts,
know the same names as long as they run the same code.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medshield.jobs.context import JobContext

JobFunction = Callable[..., Any]

#: environment variable naming extra modules that register kinds
MODULES_ENV = "MEDSHIELD_JOB_MODULES"


class UnknownJobKind(LookupError):
    """No function is registered under that name."""


@dataclass(frozen=True)
class JobKind:
    """A registered kind: its name, the function that runs it and a label for the pages."""

    name: str
    function: JobFunction
    label: Any

    def run(self, ctx: JobContext, arguments: dict[str, Any]) -> Any:
        return self.function(ctx, **arguments)


_kinds: dict[str, JobKind] = {}
_loaded = False
_lock = threading.Lock()


def job_kind(name: str, *, label: Any = None) -> Callable[[JobFunction], JobFunction]:
    """Register ``fn(ctx, **arguments)`` as the job kind ``name``.

    Registering another function under a taken name is an error: two modules claiming one name
    would make a job's meaning depend on import order.
    """

    def register(function: JobFunction) -> JobFunction:
        existing = _kinds.get(name)
        if existing is not None and existing.function is not function:
            raise ValueError(f"job kind {name!r} is registered twice")
        _kinds[name] = JobKind(name, function, label or name)
        return function

    return register


def load_kinds() -> None:
    """Import the built-in kinds and those of ``MEDSHIELD_JOB_MODULES`` (once per process)."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        importlib.import_module("medshield.jobs.kinds")
        for module in os.environ.get(MODULES_ENV, "").split(","):
            if module.strip():
                importlib.import_module(module.strip())
        _loaded = True


def get_kind(name: str) -> JobKind:
    load_kinds()
    try:
        return _kinds[name]
    except KeyError:
        raise UnknownJobKind(name) from None


def kinds() -> dict[str, JobKind]:
    """Every registered kind by name."""
    load_kinds()
    return dict(sorted(_kinds.items()))


def label_of(name: str) -> Any:
    """The label of a kind for the pages, or its bare name if this process does not know it."""
    load_kinds()
    kind = _kinds.get(name)
    return kind.label if kind is not None else name
