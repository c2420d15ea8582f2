"""MEDSHIELD_AUTO_MATCH=worker: a save queues one re-match job; a job worker runs it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from medshield.assets.models import Asset
from medshield.findings import service
from medshield.findings.models import Finding
from medshield.findings.signals import PENDING_JOB
from medshield.jobs.models import Job
from medshield.jobs.worker import Worker, WorkerOptions

pytestmark = pytest.mark.django_db


def test_a_save_queues_one_rematch_job_that_a_worker_runs(
    world: dict[str, Asset], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    service.match_all()
    connection.run_on_commit.clear()  # the fixture's own saves are not what is tested here
    settings.FINDINGS_AUTO_MATCH = "worker"
    pump = world["ME-0002"]
    assert not Finding.objects.filter(asset=pump).exists()
    for _ in range(2):  # two transactions: the second finds the first's job still queued
        with django_capture_on_commit_callbacks(execute=True):
            pump.manufacturer, pump.model = "GE Healthcare", "Revolution CT"
            pump.save()
    jobs = Job.objects.filter(kind=PENDING_JOB)
    assert [j.state for j in jobs] == ["queued"]
    assert not Finding.objects.filter(asset=pump).exists()  # the save did not wait for it

    Worker(WorkerOptions(once=True), say=lambda line: None, name="test:1").work("test:1/0")
    job = jobs.get()
    assert job.state == "done", job.error
    assert Finding.objects.filter(asset=pump).exists()
    assert job.result["created"] >= 1


def test_an_edit_of_what_matching_does_not_read_queues_nothing(
    world: dict[str, Asset], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    service.match_all()
    connection.run_on_commit.clear()
    settings.FINDINGS_AUTO_MATCH = "worker"
    pump = world["ME-0002"]
    with django_capture_on_commit_callbacks(execute=True):
        pump.notes, pump.name = "moved to ward 3 for the night", "Infusion pump (ward 3)"
        pump.save()
    assert not Job.objects.filter(kind=PENDING_JOB).exists()
    assert service.pending(service._state(), service._current_marks()).asset_ids == set()

    with django_capture_on_commit_callbacks(execute=True):
        pump.software_version = f"{pump.software_version}.1"
        pump.save()
    assert Job.objects.filter(kind=PENDING_JOB).count() == 1
    work = service.pending(service._state(), service._current_marks())
    assert work.asset_ids == {pump.pk}
