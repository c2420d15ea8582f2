"""Issue 7's production shape on loopback: two app processes (gunicorn through `medshield serve`)
and two `medshield worker` processes against one real PostgreSQL database.

200 short jobs are queued; the two workers race for them. Every job must run exactly once (one
row per run in a side-effect table, written by the job itself: a job claimed twice would leave
two), both workers must have taken part, and both app processes must report the same jobs. The
workers are then stopped with SIGTERM and must exit cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from medshield.jobs import queue
from medshield.jobs.models import Job, JobState
from tests.jobs.conftest import runs

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
JOBS = 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{quote(db['USER'] or '', safe='')}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def _get(url: str, cookie: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return response.status, response.read()


def _wait_until_serving(base: str, process: subprocess.Popen[bytes]) -> None:
    # Generous: on a busy machine Django and gunicorn take many seconds to import.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app process at {base} exited with {process.returncode}")
        try:
            urllib.request.urlopen(base + "/login/", timeout=2)  # noqa: S310 - loopback
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the app process at {base} did not start")


@pytest.mark.django_db(transaction=True)
def test_two_app_processes_and_two_workers_share_one_postgresql(
    runs_table: str, django_user_model: Any, tmp_path: Path
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs the real PostgreSQL (runs in the PostgreSQL half of `make test`)")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MEDSHIELD_DATA_DIR": str(tmp_path / "data"),
        # One secret for every process, as on several hosts: a session opened on one app
        # process is honoured by the other.
        "MEDSHIELD_SECRET_KEY": settings.SECRET_KEY,
        "MEDSHIELD_JOB_MODULES": "tests.jobs.kinds_for_tests",
        "PYTHONPATH": str(ROOT),
    }
    jobs = [queue.enqueue("test.record", n=i, sleep=0.02) for i in range(JOBS)]
    watcher = django_user_model.objects.create_user("watcher", is_superuser=True)
    client = Client()
    client.force_login(watcher)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    processes: list[subprocess.Popen[bytes]] = []
    try:
        bases = []
        for _ in range(2):
            port = _free_port()
            processes.append(
                subprocess.Popen(
                    [BIN / "medshield", "serve", "--bind", f"127.0.0.1:{port}"]
                    + ["--workers", "1", "--threads", "2"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        workers = [
            subprocess.Popen(
                [BIN / "medshield", "worker", "--poll", "0.1"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        processes += workers
        for base, process in zip(bases, processes, strict=False):
            _wait_until_serving(base, process)

        deadline = time.monotonic() + 60
        while Job.objects.filter(state__in=JobState.active()).exists():
            assert time.monotonic() < deadline, "the workers did not finish 200 jobs in 60 s"
            assert all(w.poll() is None for w in workers), "a worker exited early"
            time.sleep(0.2)

        # Both app processes serve the same jobs: the status of a sample, and the list page.
        for job in jobs[:: JOBS // 10]:
            answers = [
                json.loads(_get(f"{base}/jobs/{job.pk}/status/", cookie)[1]) for base in bases
            ]
            assert answers[0] == answers[1]
            job.refresh_from_db()
            assert answers[0]["state"] == "done" and answers[0]["worker"] == job.worker
        pages = [_get(f"{base}/jobs/", cookie) for base in bases]
        for status, body in pages:
            assert status == 200
            assert body.count(b'data-state="done"') == 50  # the page lists the latest 50
            assert b"every 2s" not in body  # nothing left to poll for

        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        outputs = [w.communicate(timeout=20) for w in workers]
        assert [w.returncode for w in workers] == [0, 0], outputs
    finally:
        # SIGTERM first: a gunicorn master stops its worker process (which holds a database
        # session) only when asked; a killed master would leave the worker behind.
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    # Every job ran exactly once, under the worker its row names.
    done = {job.pk: job for job in Job.objects.all()}
    assert {j.pk for j in jobs} == set(done)
    rows = runs(runs_table)
    per_job = Counter(job_id for job_id, _ in rows)
    assert len(rows) == JOBS and set(per_job.values()) == {1}, per_job.most_common(3)
    for job_id, worker in rows:
        job = done[job_id]
        assert (job.state, job.attempts, job.worker) == ("done", 1, worker)
        assert job.result == {"n": job.arguments["n"], "worker": worker}
    # Both worker processes took part (one host:pid each).
    processes_seen = Counter(worker.rsplit("/", 1)[0] for _, worker in rows)
    assert len(processes_seen) == 2, processes_seen
    for out, _ in outputs:
        assert b"signal 15" in out and b"stopped" in out
