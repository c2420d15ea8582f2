"""A progress bar on standard error for the command line's long jobs.

Drawn only when standard error is a terminal (a pipe or a log file gets the results alone).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

#: what a bar says after the bar itself, from (done, total)
Amount = Callable[[int, int], str]


def count(done: int, total: int) -> str:
    return f"{done}/{total}"


def megabytes(done: int, total: int) -> str:
    return f"{done >> 20}/{total >> 20} MB"


class Bar:
    """``Bar(label).report`` is the progress callback jobs take (None when nothing is drawn);
    ``end()`` closes the line once the job is done."""

    WIDTH = 30

    def __init__(self, label: str, amount: Amount = count) -> None:
        self.label = label
        self.amount = amount
        self.shown = False
        tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        self.report: Callable[[int, int], None] | None = self._draw if tty else None

    def _draw(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // total if total else self.WIDTH
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
            f"{self.amount(done, total)}  "
        )
        sys.stderr.flush()
        self.shown = True

    def end(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            self.shown = False
