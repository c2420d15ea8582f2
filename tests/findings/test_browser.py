"""Issue 5 acceptance in a real browser: filter findings to KEV, open one, see why it matched."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from medshield.findings import service
from tests.findings.conftest import import_world, make_assets
from tests.web.conftest import browser  # noqa: F401 - the shared chromium fixture

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
playwright_sync = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "data" / "screenshots"
CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


def test_it_filters_to_kev_and_shows_why(
    transactional_db,
    live_server,
    browser,  # noqa: F811 - the fixture imported above
    engineer,
    staff_password,
    tmp_path,  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    import_world(tmp_path)
    make_assets()
    service.match_all()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="ja-JP")
    page = context.new_page()
    expect = playwright_sync.expect
    try:
        page.goto(f"{live_server.url}/findings/")
        page.fill("#id_username", engineer.username)
        page.fill("#id_password", staff_password)
        page.locator("form button[type=submit]").last.click()
        expect(page.locator("h1")).to_contain_text("検出事項")
        rows = page.locator("#finding-table tbody tr")
        assert rows.count() >= 3
        page.check("#f-kev")
        page.click("#f-apply")
        expect(page).to_have_url(re.compile(r"kev=1"))
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("CVE-2021-26855")
        expect(rows.first).to_contain_text("KEV")
        page.screenshot(path=str(SCREENSHOTS / "findings-kev-ja.png"), full_page=True)
        rows.first.locator("a.finding-link").click()
        why = page.locator("#why")
        expect(why).to_contain_text("exchange_server:2016")  # the rule and version compared
        expect(why).to_contain_text("NVD")  # the source
        expect(page.locator("#kev")).to_contain_text("はい")
        expect(page.locator("#priority-terms")).to_contain_text("KEV")
        page.select_option("#id_status", "in_progress")
        page.fill("#id_note", "パッチ適用を手配済み")
        page.locator("#status-form button[type=submit]").click()
        expect(page.locator("#finding-status")).to_have_text("対応中")
        expect(page.locator("#finding-history")).to_contain_text(engineer.username)
        page.screenshot(path=str(SCREENSHOTS / "finding-detail-ja.png"), full_page=True)
    finally:
        context.close()
