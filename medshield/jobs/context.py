"""What a running job sees: its id, who queued it, and a progress callback.

Progress is only kept in memory here; the worker's heartbeat thread writes it to the job's row
every couple of seconds on its own database connection. Writing it from the job's thread would
put it inside the job's own transaction (an import runs in one), where nobody could see it until
the job ended.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from medshield.core.actor import Actor


class JobFailed(Exception):
    """A job's user-facing reason to stop; ``result`` keeps what it had done before."""

    def __init__(self, message: str, *, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class JobCancelled(Exception):
    """Raised at a progress report after a user asked for the job to stop."""


class JobContext:
    """Handed to a job's function as its first argument."""

    def __init__(self, *, job_id: int, kind: str, worker: str, user: Any, user_name: str) -> None:
        self.job_id = job_id
        self.kind = kind
        self.worker = worker
        #: the login that queued the job (None when queued from the command line)
        self.user = user
        self.user_name = user_name
        #: set by the heartbeat thread when the row says a user asked to cancel
        self.cancel_requested = threading.Event()
        self._lock = threading.Lock()
        self._progress: tuple[int, int, str] = (0, 0, "")
        self._dirty = False

    # --- called by the job ---------------------------------------------------------------------
    def progress(self, done: int, total: int, message: str | None = None) -> None:
        """Record how far the job has got; raises JobCancelled once a user has cancelled it.

        Cheap enough to call for every record: it only stores three values.
        """
        with self._lock:
            previous = self._progress[2]
            self._progress = (
                max(0, int(done)),
                max(0, int(total)),
                previous if message is None else str(message)[:300],
            )
            self._dirty = True
        if self.cancel_requested.is_set():
            raise JobCancelled()

    def actor(self) -> Actor:
        """Who the register's history names for changes the job makes."""
        user_id = self.user.pk if self.user is not None else None
        return Actor(user_id=user_id, name=self.user_name or f"job {self.job_id}")

    def output_path(self, suffix: str) -> Path:
        """A file for the job's output in the data folder (owner-only, like the uploads)."""
        folder = Path(settings.DATA_DIR) / "jobs"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder / f"job-{self.job_id}{suffix}"

    # --- called by the worker ------------------------------------------------------------------
    def take_progress(self) -> tuple[int, int, str] | None:
        """The progress reported since the last call, or None if nothing changed."""
        with self._lock:
            if not self._dirty:
                return None
            self._dirty = False
            return self._progress
