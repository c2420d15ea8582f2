"""The job page in Debian's chromium: its progress bar follows the job's row every 2 s (htmx)
and stops polling once the job has ended."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from medshield.jobs import queue
from medshield.jobs.models import Job, JobState

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "data" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def test_the_progress_bar_follows_the_job_until_it_ends(
    transactional_db: None, live_server: Any, browser: Any, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user("watcher")
    client = Client()
    client.force_login(user)
    job = queue.enqueue("test.steps", queued_by=user, steps=4, delay=0)
    Job.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, progress_done=1, progress_total=4, progress_message="step 2"
    )
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    expect = playwright_sync.expect
    try:
        page.goto(f"{live_server.url}/jobs/{job.pk}/")
        bar = page.locator("#job-panel .progress-bar")
        expect(bar).to_have_text("25%")
        Job.objects.filter(pk=job.pk).update(progress_done=3, progress_message="step 4")
        expect(bar).to_have_text("75%", timeout=8000)  # the next poll, 2 s later
        expect(page.locator("#job-panel")).to_contain_text("step 4")
        Job.objects.filter(pk=job.pk).update(state=JobState.DONE, result={"steps": 4})
        expect(page.locator("#job-panel")).to_have_attribute("data-state", "done", timeout=8000)
        expect(bar).to_have_text("100%")
        assert page.locator("#job-panel").get_attribute("hx-trigger") is None  # polling ended
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "job-detail.png"))
        page.goto(f"{live_server.url}/jobs/")
        expect(page.locator(f'tr[data-job="{job.pk}"]')).to_contain_text("Done")
        page.screenshot(path=str(SCREENSHOTS / "job-list.png"))
    finally:
        context.close()
