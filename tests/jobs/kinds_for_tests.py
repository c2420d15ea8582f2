"""Job kinds used by the jobs tests, loaded by the test process and, through
MEDSHIELD_JOB_MODULES, by the worker subprocesses of the multi-process test."""

from __future__ import annotations

import time
from typing import Any

from django.db import connection

from medshield.jobs.context import JobContext, JobFailed
from medshield.jobs.registry import job_kind

#: the side-effect table of "test.record": one row per run of a job
RUNS_TABLE = "jobs_test_runs"


@job_kind("test.record")
def record(ctx: JobContext, *, n: int, sleep: float = 0.0) -> dict[str, Any]:
    """Insert one row per run (a job run twice shows up as two rows), then pause a little."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RUNS_TABLE} (job_id, worker) VALUES (%s, %s)",  # noqa: S608
            [ctx.job_id, ctx.worker],
        )
    time.sleep(sleep)
    return {"n": n, "worker": ctx.worker}


@job_kind("test.steps")
def steps(ctx: JobContext, *, steps: int, delay: float) -> dict[str, Any]:
    """Report progress at every step, so a cancellation lands between two of them."""
    for i in range(steps):
        ctx.progress(i, steps, f"step {i + 1}")
        time.sleep(delay)
    ctx.progress(steps, steps, "finished")
    return {"steps": steps}


@job_kind("test.crash")
def crash(ctx: JobContext) -> None:
    raise RuntimeError("the job's own bug")


@job_kind("test.refuse")
def refuse(ctx: JobContext) -> None:
    raise JobFailed("nothing to do with this input", result={"partial": 1})
