"""Enqueue, claim, finish, cancel and reclaim jobs: every state change of a job row lives here.

Claiming is the one step that must never hand a job to two workers:

* on PostgreSQL, a worker locks the oldest queued row with ``SELECT ... FOR UPDATE SKIP LOCKED``
  inside a transaction and marks it running before committing. A row another worker is claiming
  is skipped rather than waited for, so workers on several hosts take different jobs at once.
* on SQLite, whose writes are serialised by one database lock, a conditional
  ``UPDATE ... SET state='running' WHERE id=? AND state='queued'`` is equivalent: of two workers
  trying the same row, the second updates nothing and tries the next. (SQLite is the one-machine
  set-up: run one worker there; several hosts need PostgreSQL.)

Every later change (finish, fail, heartbeat) is conditional on the row still being running under
the same worker, so a worker that was presumed dead and whose job was handed on cannot overwrite
what its successor writes.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from medshield.jobs.models import Job, JobState
from medshield.jobs.registry import get_kind

log = logging.getLogger(__name__)

#: how many queued rows a SQLite claim tries before giving up for this round
_SQLITE_CANDIDATES = 20


def to_json(value: Any) -> Any:
    """``value`` as plain JSON (dates, decimals and UUIDs as strings); raises TypeError if it
    cannot be, so a job's arguments are checked when it is queued rather than when it runs."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def enqueue(kind: str, /, *, queued_by: Any = None, max_attempts: int = 3, **arguments: Any) -> Job:
    """Queue a job of ``kind`` with keyword ``arguments`` (JSON-able); returns its row.

    Raises UnknownJobKind for a name no function is registered under. Called inside a
    transaction, the job becomes visible to the workers when that transaction commits.
    """
    get_kind(kind)
    user = queued_by if queued_by is not None and queued_by.is_authenticated else None
    return Job.objects.create(
        kind=kind,
        arguments=to_json(arguments),
        created_by=user,
        created_by_name=user.get_username() if user is not None else "",
        max_attempts=max(1, max_attempts),
    )


def claim(worker: str) -> Job | None:
    """Take the oldest queued job for ``worker``, or None when there is none."""
    if connection.features.has_select_for_update_skip_locked:
        return _claim_skip_locked(worker)
    return _claim_conditional(worker)


def _running(worker: str, now: datetime.datetime) -> dict[str, Any]:
    return {"state": JobState.RUNNING, "worker": worker, "started": now, "heartbeat": now}


def _claim_skip_locked(worker: str) -> Job | None:
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(skip_locked=True)
            .filter(state=JobState.QUEUED)
            .order_by("created", "id")
            .first()
        )
        if job is None:
            return None
        now = timezone.now()
        for name, value in _running(worker, now).items():
            setattr(job, name, value)
        job.attempts += 1
        job.finished = None
        job.save(update_fields=["state", "worker", "started", "heartbeat", "attempts", "finished"])
    return job


def _claim_conditional(worker: str) -> Job | None:
    candidates = list(
        Job.objects.filter(state=JobState.QUEUED)
        .order_by("created", "id")
        .values_list("pk", flat=True)[:_SQLITE_CANDIDATES]
    )
    for pk in candidates:
        now = timezone.now()
        taken = Job.objects.filter(pk=pk, state=JobState.QUEUED).update(
            attempts=F("attempts") + 1, finished=None, **_running(worker, now)
        )
        if taken == 1:
            return Job.objects.get(pk=pk)
    return None


def _held(job: Job, worker: str) -> QuerySet[Job]:
    return Job.objects.filter(pk=job.pk, state=JobState.RUNNING, worker=worker)


def finish(job: Job, worker: str, result: Any) -> bool:
    """Mark the job done with its result; False if the job is no longer ``worker``'s."""
    now = timezone.now()
    return (
        _held(job, worker).update(
            state=JobState.DONE, result=to_json(result), finished=now, heartbeat=now
        )
        == 1
    )


def fail(
    job: Job, worker: str, error: str, result: Any = None, *, state: str = JobState.FAILED
) -> bool:
    """Mark the job failed (or cancelled) with ``error``; False if it is no longer ``worker``'s."""
    now = timezone.now()
    return (
        _held(job, worker).update(
            state=state, error=error, result=to_json(result), finished=now, heartbeat=now
        )
        == 1
    )


def beat(job_id: int, worker: str, progress: tuple[int, int, str] | None) -> bool:
    """Record that ``worker`` is alive on the job (and its progress); returns whether a user has
    asked for the job to be cancelled."""
    values: dict[str, Any] = {"heartbeat": timezone.now()}
    if progress is not None:
        values.update(
            progress_done=progress[0], progress_total=progress[1], progress_message=progress[2]
        )
    Job.objects.filter(pk=job_id, state=JobState.RUNNING, worker=worker).update(**values)
    return Job.objects.filter(pk=job_id, cancel_requested=True).exists()


def cancel(job: Job) -> bool:
    """Cancel a queued job at once, or ask the worker to stop a running one at its next progress
    report. False when the job had already ended."""
    now = timezone.now()
    if Job.objects.filter(pk=job.pk, state=JobState.QUEUED).update(
        state=JobState.CANCELLED, finished=now, cancel_requested=True
    ):
        return True
    return bool(Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(cancel_requested=True))


def reclaim_stale(stale_after: float, *, spare: str = "") -> tuple[int, int]:
    """Hand back the jobs whose worker has not beaten for ``stale_after`` seconds (it died, or
    its host did): queued again while attempts remain, failed otherwise. ``spare`` is a worker
    id prefix whose jobs are left alone (this process's own, which it knows to be alive).

    Returns (requeued, failed).
    """
    cutoff = timezone.now() - datetime.timedelta(seconds=stale_after)
    stale = Job.objects.filter(state=JobState.RUNNING).filter(
        Q(heartbeat__lt=cutoff) | Q(heartbeat__isnull=True)
    )
    if spare:
        stale = stale.exclude(worker__startswith=spare)
    requeued = failed = 0
    for job in stale.only("pk", "worker", "heartbeat", "attempts", "max_attempts"):
        # Conditional on the row being as read: if the worker beat meanwhile, leave it be.
        same = Job.objects.filter(
            pk=job.pk, state=JobState.RUNNING, worker=job.worker, heartbeat=job.heartbeat
        )
        note = _("worker {worker} stopped responding").format(worker=job.worker)
        if job.attempts < job.max_attempts:
            if same.update(state=JobState.QUEUED, progress_message=note[:300]):
                requeued += 1
                log.warning("job %s requeued: %s", job.pk, note)
        elif same.update(
            state=JobState.FAILED,
            error=_("{note} (attempt {n} of {max}); not retried").format(
                note=note, n=job.attempts, max=job.max_attempts
            ),
            finished=timezone.now(),
        ):
            failed += 1
            log.warning("job %s failed: %s", job.pk, note)
    return requeued, failed
