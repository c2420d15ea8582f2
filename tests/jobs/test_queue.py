"""Queueing and claiming: each job goes to one worker, in order, and a dead worker's job is
handed on (or failed once its attempts are used up)."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from medshield.jobs import queue
from medshield.jobs.models import Job, JobState
from medshield.jobs.registry import UnknownJobKind


def test_it_queues_a_job_with_its_arguments_and_who_asked(db: None, django_user_model: Any) -> None:
    alice = django_user_model.objects.create_user("alice")
    job = queue.enqueue("test.record", queued_by=alice, n=3, sleep=0)
    job.refresh_from_db()
    assert (job.kind, job.state, job.arguments) == ("test.record", "queued", {"n": 3, "sleep": 0})
    assert (job.created_by, job.created_by_name, job.attempts) == (alice, "alice", 0)


def test_it_refuses_an_unknown_kind_and_arguments_that_are_not_json(db: None) -> None:
    with pytest.raises(UnknownJobKind):
        queue.enqueue("no.such.kind")
    with pytest.raises(TypeError):
        queue.enqueue("test.record", n=object())
    assert not Job.objects.exists()


def test_it_claims_the_oldest_queued_job_once(db: None) -> None:
    first, second = (queue.enqueue("test.record", n=i) for i in range(2))
    done = queue.enqueue("test.record", n=9)
    Job.objects.filter(pk=done.pk).update(state=JobState.DONE)

    a = queue.claim("host:1/0")
    b = queue.claim("host:2/0")
    assert (a.pk, b.pk) == (first.pk, second.pk)  # type: ignore[union-attr]
    assert queue.claim("host:3/0") is None
    a.refresh_from_db()  # type: ignore[union-attr]
    assert (a.state, a.worker, a.attempts) == ("running", "host:1/0", 1)  # type: ignore[union-attr]
    assert a.started is not None and a.heartbeat is not None  # type: ignore[union-attr]


def test_a_conditional_claim_that_loses_a_row_takes_the_next(db: None) -> None:
    """The SQLite claim: another worker takes the first candidate between our read and our
    UPDATE; the UPDATE then changes nothing and the next row is tried."""
    first, second = (queue.enqueue("test.record", n=i) for i in range(2))
    stolen = []

    def rival(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().upper().startswith("UPDATE") and not stolen:
            stolen.append(True)
            Job.objects.filter(pk=first.pk).update(state=JobState.RUNNING, worker="rival/0")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(rival):
        job = queue._claim_conditional("us/0")
    assert stolen and job is not None and job.pk == second.pk
    assert Job.objects.get(pk=first.pk).worker == "rival/0"


@pytest.mark.django_db(transaction=True)
def test_skip_locked_passes_over_a_job_another_worker_is_claiming() -> None:
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("SQLite has no row locks; its claim is the conditional UPDATE tested above")
    first, second = (queue.enqueue("test.record", n=i) for i in range(2))
    locked, release = threading.Event(), threading.Event()

    def hold_first() -> None:
        try:
            with transaction.atomic():
                Job.objects.select_for_update().get(pk=first.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_first)
    holder.start()
    try:
        assert locked.wait(10)
        job = queue.claim("us/0")  # would block until release without SKIP LOCKED
        assert job is not None and job.pk == second.pk
    finally:
        release.set()
        holder.join(10)


def test_finish_and_fail_only_touch_a_job_the_worker_still_holds(db: None) -> None:
    queue.enqueue("test.record", n=1)
    job = queue.claim("old/0")
    assert job is not None
    # The job was handed to another worker meanwhile (its first worker was presumed dead).
    Job.objects.filter(pk=job.pk).update(worker="new/0")
    assert not queue.finish(job, "old/0", {"n": 1})
    assert not queue.fail(job, "old/0", "late")
    job.refresh_from_db()
    assert (job.state, job.result, job.error) == ("running", None, "")
    assert queue.finish(job, "new/0", {"n": 1})
    job.refresh_from_db()
    assert (job.state, job.result) == ("done", {"n": 1}) and job.finished is not None


def _age(job: Job, seconds: float) -> None:
    Job.objects.filter(pk=job.pk).update(
        heartbeat=timezone.now() - datetime.timedelta(seconds=seconds)
    )


def test_a_job_whose_worker_went_silent_is_queued_again_then_failed(db: None) -> None:
    job = queue.enqueue("test.record", max_attempts=2, n=1)
    claimed = queue.claim("dead:1/0")
    assert claimed is not None and claimed.pk == job.pk
    _age(job, 30)
    assert queue.reclaim_stale(60) == (0, 0)  # still within its time
    _age(job, 300)
    assert queue.reclaim_stale(60, spare="dead:1/") == (0, 0)  # a worker spares its own jobs
    assert queue.reclaim_stale(60) == (1, 0)
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("queued", 1)
    assert "dead:1/0" in job.progress_message

    again = queue.claim("alive:2/0")
    assert again is not None and again.attempts == 2
    _age(job, 300)
    assert queue.reclaim_stale(60) == (0, 1)
    job.refresh_from_db()
    assert job.state == "failed" and "attempt 2 of 2" in job.error and job.finished is not None


def test_cancel_ends_a_queued_job_and_flags_a_running_one(db: None) -> None:
    queued = queue.enqueue("test.record", n=1)
    running = queue.enqueue("test.record", n=2)
    Job.objects.filter(pk=running.pk).update(state=JobState.RUNNING, worker="w/0")
    assert queue.cancel(queued) and queue.cancel(running)
    queued.refresh_from_db()
    running.refresh_from_db()
    assert queued.state == "cancelled" and queued.finished is not None
    assert running.state == "running" and running.cancel_requested
    assert queue.beat(running.pk, "w/0", (1, 4, "halfway")) is True
    running.refresh_from_db()
    assert (running.progress_done, running.progress_total, running.progress_message) == (
        1,
        4,
        "halfway",
    )
    assert not queue.cancel(queued)  # already ended
