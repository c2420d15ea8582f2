"""The worker: threads that claim and run jobs, and one heartbeat thread that speaks for them.

A worker process runs ``concurrency`` job threads. Each loops: claim the oldest queued job, run
its function, write the result or the error. A separate heartbeat thread writes, every
``beat`` seconds, a heartbeat and the latest progress of every job this process is running, and
reads back whether a user asked to cancel one; being its own thread with its own database
connection, it keeps beating while a job sits inside a long transaction. Any worker also hands
back jobs whose heartbeat has gone stale (their worker died) — see
:func:`medshield.jobs.queue.reclaim_stale`.

Stopping (SIGTERM from systemd, or Ctrl-C): no new job is claimed and the jobs under way run to
their end; systemd's TimeoutStopSec bounds that, and a job killed at the timeout is handed on
once its heartbeat goes stale.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import translation
from django.utils.translation import gettext as _

from medshield.jobs import queue
from medshield.jobs.context import JobCancelled, JobContext, JobFailed
from medshield.jobs.models import Job, JobState
from medshield.jobs.registry import UnknownJobKind, get_kind

log = logging.getLogger(__name__)


@dataclass
class WorkerOptions:
    concurrency: int = 1
    #: seconds between two looks at an empty queue
    poll: float = 1.0
    #: seconds between heartbeats (and progress writes)
    beat: float = 2.0
    #: a running job whose heartbeat is older than this is presumed orphaned
    stale_after: float = 120.0
    #: drain the queue and exit instead of waiting for more work
    once: bool = False


@dataclass
class Worker:
    """One worker process: ``run()`` blocks until the queue is drained (``once``) or stop()."""

    options: WorkerOptions = field(default_factory=WorkerOptions)
    #: called with one line per job started and ended (the command prints them)
    say: Callable[[str], None] = log.info
    name: str = ""
    stopping: threading.Event = field(default_factory=threading.Event)
    _running: dict[int, JobContext] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.done = 0
        self.failed = 0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        queue.reclaim_stale(self.options.stale_after, spare=f"{self.name}/")
        heart = threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True)
        heart.start()
        threads = [
            threading.Thread(target=self._thread, args=(f"{self.name}/{i}",), name=f"job-{i}")
            for i in range(max(1, self.options.concurrency))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            # join with a timeout so the main thread stays free to receive signals
            while thread.is_alive():
                thread.join(0.5)
        self.stopping.set()
        heart.join(self.options.beat + 5)

    # --- job threads ---------------------------------------------------------------------------
    def _thread(self, worker_id: str) -> None:
        try:
            self.work(worker_id)
        finally:
            connection.close()

    def work(self, worker_id: str) -> None:
        """Claim and run jobs in the calling thread until stop() (or, with ``once``, until the
        queue is empty)."""
        last_reclaim = time.monotonic()
        while not self.stopping.is_set():
            if not connection.in_atomic_block:
                # Drop a connection the database closed (restart, idle timeout) before using it.
                close_old_connections()
            job = queue.claim(worker_id)
            if job is None:
                if self.options.once:
                    return
                self.stopping.wait(self.options.poll)
                if time.monotonic() - last_reclaim > self.options.stale_after / 4:
                    queue.reclaim_stale(self.options.stale_after, spare=f"{self.name}/")
                    last_reclaim = time.monotonic()
                continue
            self._run(job, worker_id)

    def _run(self, job: Job, worker_id: str) -> None:
        user = job.created_by
        ctx = JobContext(
            job_id=job.pk,
            kind=job.kind,
            worker=worker_id,
            user=user,
            user_name=job.created_by_name,
        )
        with self._lock:
            self._running[job.pk] = ctx
        self.say(f"job {job.pk} {job.kind}: started (attempt {job.attempts})")
        started = time.monotonic()
        try:
            # Messages the job writes into its row are in the site's language, as there is no
            # request to take one from.
            with translation.override(settings.LANGUAGE_CODE):
                outcome = self._execute(job, ctx)
        finally:
            with self._lock:
                self._running.pop(job.pk, None)
        took = time.monotonic() - started
        self.say(f"job {job.pk} {job.kind}: {outcome} in {took:.1f} s")

    def _execute(self, job: Job, ctx: JobContext) -> str:
        """Run the job's function and record how it ended; returns that end for the log."""
        result: Any = None
        error = ""
        state: str = JobState.FAILED
        try:
            kind = get_kind(job.kind)
            result = kind.run(ctx, dict(job.arguments or {}))
            state = JobState.DONE
        except JobCancelled:
            state, error = JobState.CANCELLED, _("Cancelled by a user.")
        except JobFailed as exc:
            error, result = str(exc), exc.result
        except UnknownJobKind:
            error = _("This worker knows no job kind {kind}.").format(kind=job.kind)
        except Exception as exc:  # noqa: BLE001 - a job's bug must not stop the worker
            log.error("job %s %s crashed:\n%s", job.pk, job.kind, traceback.format_exc())
            # The row gets the exception's type and text, not the traceback: the pages show it.
            error = f"{type(exc).__name__}: {exc}"[:2000]
        # The last progress reported, which the heartbeat thread may not have written yet.
        progress = ctx.take_progress()
        if progress is not None:
            queue.beat(job.pk, ctx.worker, progress)
        if state == JobState.DONE:
            written = queue.finish(job, ctx.worker, result)
        else:
            written = queue.fail(job, ctx.worker, error, result, state=state)
        if not written:
            log.warning("job %s ended after it was handed to another worker", job.pk)
            return "ended too late (handed on)"
        if state == JobState.DONE:
            self.done += 1
        elif state == JobState.FAILED:
            self.failed += 1
        return state

    # --- heartbeat thread ----------------------------------------------------------------------
    def _heartbeat(self) -> None:
        try:
            while not (self.stopping.is_set() and not self._running):
                running = self.beat_once()
                time.sleep(self.options.beat if running else min(self.options.beat, 0.5))
        finally:
            connection.close()

    def beat_once(self) -> int:
        """Write the heartbeat and progress of every job under way, and pass on cancellations;
        returns how many jobs are under way."""
        with self._lock:
            running = list(self._running.values())
        for ctx in running:
            try:
                if queue.beat(ctx.job_id, ctx.worker, ctx.take_progress()):
                    ctx.cancel_requested.set()
            except Exception:  # noqa: BLE001 - e.g. SQLite busy past its timeout
                log.warning("heartbeat of job %s failed", ctx.job_id, exc_info=True)
                if not connection.in_atomic_block:
                    close_old_connections()
        return len(running)
