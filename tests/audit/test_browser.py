"""The audit log in a real browser (Japanese): menu, filter form, paging, CSV download."""

from __future__ import annotations

import csv
import datetime
import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from medshield.audit.models import AuditEvent
from tests.audit.conftest import event_at
from tests.web.conftest import browser  # noqa: F401 - the shared chromium fixture

playwright_sync = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

_ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
T0 = timezone.make_aware(datetime.datetime(2026, 4, 1, 9, 0))


@pytest.fixture(scope="module", autouse=True)
def orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread, and Django's ORM refuses to run
    beside one unless told; told for this module only (set before the browser starts, unset
    after the last database flush), so the variable does not leak into the rest of the session:
    ``check --deploy`` refuses it."""
    before = os.environ.get(_ASYNC_UNSAFE)
    os.environ[_ASYNC_UNSAFE] = "true"
    yield
    if before is None:
        os.environ.pop(_ASYNC_UNSAFE, None)
    else:
        os.environ[_ASYNC_UNSAFE] = before


def test_an_auditor_filters_pages_and_downloads(
    transactional_db: Any,
    live_server: Any,
    browser: Any,  # noqa: F811
    auditor: Any,
    staff_password: str,
) -> None:
    expect = playwright_sync.expect
    for i in range(60):
        event_at(T0 + datetime.timedelta(minutes=i), "export", username=f"user{i:02d}")
    event_at(T0, "login_failed", username='=HYPERLINK("http://evil.example")')
    context = browser.new_context(locale="ja-JP", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "auditor")
    page.fill("input[name=password]", staff_password)
    page.locator("main button[type=submit], main input[type=submit]").first.click()

    page.get_by_role("link", name="監査ログ").click()
    expect(page.locator("h1")).to_have_text("監査ログ")
    page.select_option("#id_action", "export")
    page.locator("#audit-filter-submit").click()
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("user59")
    page.get_by_role("link", name="古い記録 ›").click()
    expect(rows).to_have_count(10)
    expect(rows.last).to_contain_text("user00")

    page.select_option("#id_action", "login_failed")
    page.locator("#audit-filter-submit").click()
    expect(rows).to_have_count(1)
    with page.expect_download() as info:
        page.locator("#export-csv").click()
    path = info.value.path()
    with open(path, encoding="utf-8-sig", newline="") as handle:
        exported = list(csv.DictReader(io.StringIO(handle.read())))
    assert [r["user"] for r in exported] == ['\'=HYPERLINK("http://evil.example")']
    event = AuditEvent.objects.get(action="export", username="auditor")
    assert event.detail == {"format": "csv", "filters": {"action": "login_failed"}}
    context.close()
