"""The jobs pages: who sees which job, polling while a job is under way, JSON, cancel, download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from medshield.audit.models import AuditEvent
from medshield.jobs import queue
from medshield.jobs.models import Job, JobState


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice")


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob")


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_login_sees_its_own_jobs_and_not_the_others(db: None, alice: Any, bob: Any) -> None:
    mine = queue.enqueue("test.record", queued_by=alice, n=1)
    theirs = queue.enqueue("test.record", queued_by=bob, n=2)
    client = client_for(alice)
    page = client.get(reverse("job-list")).content.decode()
    assert f'data-job="{mine.pk}"' in page and f'data-job="{theirs.pk}"' not in page
    assert client.get(reverse("job-detail", args=[mine.pk])).status_code == 200
    for name in ("job-detail", "job-status", "job-file"):
        assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert client.post(reverse("job-cancel", args=[theirs.pk])).status_code == 404
    assert Job.objects.get(pk=theirs.pk).state == "queued"


def test_a_login_that_may_import_sees_every_job(db: None, alice: Any, bob: Any) -> None:
    alice.user_permissions.add(Permission.objects.get(codename="import_data"))
    theirs = queue.enqueue("test.record", queued_by=bob, n=2)
    client = client_for(alice)
    assert f'data-job="{theirs.pk}"' in client.get(reverse("job-list")).content.decode()
    assert client.get(reverse("job-status", args=[theirs.pk])).json()["queued_by"] == "bob"


def test_anonymous_visitors_are_sent_to_the_login_page(db: None, alice: Any) -> None:
    job = queue.enqueue("test.record", queued_by=alice, n=1)
    for url in (reverse("job-list"), reverse("job-detail", args=[job.pk])):
        response = Client().get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_pages_poll_every_2_s_only_while_a_job_is_under_way(db: None, alice: Any) -> None:
    job = queue.enqueue("test.record", queued_by=alice, n=1)
    client = client_for(alice)
    list_url, detail_url = reverse("job-list"), reverse("job-detail", args=[job.pk])
    assert 'hx-trigger="every 2s"' in client.get(list_url).content.decode()
    fragment = client.get(detail_url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="job-panel"') and "every 2s" in fragment
    assert "<html" not in fragment

    Job.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, progress_done=30, progress_total=120, progress_message="assets"
    )
    page = client.get(detail_url).content.decode()
    assert 'aria-valuenow="25"' in page and "assets" in page and "every 2s" in page

    Job.objects.filter(pk=job.pk).update(state=JobState.DONE, result={"n": 1})
    assert "every 2s" not in client.get(list_url).content.decode()
    assert "every 2s" not in client.get(detail_url).content.decode()


def test_the_status_is_json(db: None, alice: Any) -> None:
    job = queue.enqueue("test.record", queued_by=alice, n=1)
    Job.objects.filter(pk=job.pk).update(state=JobState.FAILED, error="it broke", result=[1])
    data = client_for(alice).get(reverse("job-status", args=[job.pk])).json()
    assert (data["id"], data["state"], data["error"], data["result"]) == (
        job.pk,
        "failed",
        "it broke",
        [1],
    )
    assert data["progress"] == {"done": 0, "total": 0, "message": "", "percent": None}


def test_cancel_ends_a_queued_job_from_the_page(db: None, alice: Any) -> None:
    job = queue.enqueue("test.record", queued_by=alice, n=1)
    client = client_for(alice)
    assert client.get(reverse("job-cancel", args=[job.pk])).status_code == 405
    response = client.post(reverse("job-cancel", args=[job.pk]))
    assert response.status_code == 302
    assert Job.objects.get(pk=job.pk).state == "cancelled"


def test_the_output_file_goes_to_whoever_queued_the_job_and_is_audited(
    db: None, alice: Any, bob: Any, data_dir: Path
) -> None:
    job = queue.enqueue("diagram.render", queued_by=alice, kind="network")
    (data_dir / "jobs").mkdir()
    (data_dir / "jobs" / f"job-{job.pk}.svg").write_bytes(b"<svg/>")
    Job.objects.filter(pk=job.pk).update(state=JobState.DONE, result={"file": f"job-{job.pk}.svg"})
    client = client_for(alice)
    assert (
        reverse("job-file", args=[job.pk])
        in client.get(reverse("job-detail", args=[job.pk])).content.decode()
    )
    response = client.get(reverse("job-file", args=[job.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"<svg/>"
    assert AuditEvent.objects.filter(action="export", username="alice").count() == 1

    # A result naming another file (as a tampered row would) serves nothing.
    Job.objects.filter(pk=job.pk).update(result={"file": "../secret_key"})
    assert client.get(reverse("job-file", args=[job.pk])).status_code == 404
    bob.user_permissions.add(Permission.objects.get(codename="import_data"))
    Job.objects.filter(pk=job.pk).update(result={"file": f"job-{job.pk}.svg"})
    assert client_for(bob).get(reverse("job-file", args=[job.pk])).status_code == 404
