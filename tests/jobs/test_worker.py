"""The worker loop in the test's own thread: results, failures, cancellation, heartbeats."""

from __future__ import annotations

import pytest

from medshield.jobs import queue
from medshield.jobs.context import JobCancelled, JobContext
from medshield.jobs.models import Job
from medshield.jobs.worker import Worker, WorkerOptions
from tests.jobs.conftest import runs


def drain(name: str = "test:1") -> Worker:
    worker = Worker(WorkerOptions(once=True), say=lambda line: None, name=name)
    worker.work(f"{name}/0")
    return worker


def test_it_runs_every_queued_job_once_and_keeps_its_result(runs_table: str) -> None:
    jobs = [queue.enqueue("test.record", n=i) for i in range(5)]
    worker = drain()
    assert (worker.done, worker.failed) == (5, 0)
    assert sorted(job_id for job_id, _ in runs(runs_table)) == [j.pk for j in jobs]
    for job in Job.objects.all():
        assert (job.state, job.attempts, job.worker) == ("done", 1, "test:1/0")
        assert job.result == {"n": job.arguments["n"], "worker": "test:1/0"}
        assert job.finished is not None and job.started is not None


def test_a_crashing_job_fails_with_its_error_and_the_worker_goes_on(runs_table: str) -> None:
    crash = queue.enqueue("test.crash")
    refused = queue.enqueue("test.refuse")
    after = queue.enqueue("test.record", n=1)
    worker = drain()
    assert (worker.done, worker.failed) == (1, 2)
    crash.refresh_from_db()
    refused.refresh_from_db()
    after.refresh_from_db()
    assert (crash.state, crash.error) == ("failed", "RuntimeError: the job's own bug")
    assert (refused.state, refused.error, refused.result) == (
        "failed",
        "nothing to do with this input",
        {"partial": 1},
    )
    assert after.state == "done"


def test_a_job_of_a_kind_the_worker_does_not_know_fails_saying_so(db: None) -> None:
    job = Job.objects.create(kind="retired.kind", arguments={})
    drain()
    job.refresh_from_db()
    assert job.state == "failed" and "retired.kind" in job.error


def test_a_cancelled_job_stops_at_its_next_progress_report(db: None) -> None:
    job = queue.enqueue("test.steps", steps=3, delay=0)
    claimed = queue.claim("test:1/0")
    assert claimed is not None
    worker = Worker(WorkerOptions(), name="test:1")
    ctx = JobContext(job_id=job.pk, kind=job.kind, worker="test:1/0", user=None, user_name="")
    worker._running[job.pk] = ctx
    ctx.progress(1, 3, "step 2")
    queue.cancel(claimed)
    assert worker.beat_once() == 1  # writes the progress, reads the request back
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total, job.progress_message) == (1, 3, "step 2")
    with pytest.raises(JobCancelled):
        ctx.progress(2, 3)


def test_a_job_cancelled_while_it_runs_ends_cancelled(db: None) -> None:
    job = queue.enqueue("test.steps", steps=3, delay=0)
    claimed = queue.claim("test:1/0")
    assert claimed is not None
    worker = Worker(WorkerOptions(), say=lambda line: None, name="test:1")
    ctx = JobContext(job_id=job.pk, kind=job.kind, worker="test:1/0", user=None, user_name="")
    ctx.cancel_requested.set()  # as the heartbeat thread sets it
    assert worker._execute(claimed, ctx) == "cancelled"
    job.refresh_from_db()
    assert job.state == "cancelled" and job.finished is not None


@pytest.mark.django_db(transaction=True)
def test_the_command_drains_the_queue_and_exits_nonzero_when_a_job_failed(
    runs_table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip(
            "its job threads need a database they can share: the in-memory test "
            "SQLite is not one (runs on PostgreSQL)"
        )
    queue.enqueue("test.record", n=1)
    queue.enqueue("test.crash")
    with pytest.raises(SystemExit) as stopped:
        call_command("worker", "--once", "--concurrency", "1")
    assert stopped.value.code == 1
    out = capsys.readouterr().out
    assert "1 done, 1 failed" in out and "test.crash: failed" in out


def test_the_command_lists_the_kinds_it_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from django.core.management import call_command

    call_command("worker", "--list-kinds")
    out = capsys.readouterr().out
    for kind in ("feeds.import", "register.import", "match", "diagram.render"):
        assert kind in out
