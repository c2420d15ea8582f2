"""The register in a real browser, once in Japanese (the default) and once in English.

Drives Debian's chromium through Playwright against pytest-django's live server: log in through
the form, find an asset by name, open it, change its software version and read the change back in
its history. Screenshots of the list and the asset page land in data/screenshots/ for review.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from medshield.assets.choices import AssetKind, AssetStatus, Criticality

# Playwright's sync API runs an event loop in this thread; Django's ORM (used by fixtures while
# the loop exists) would otherwise refuse to run.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

playwright_sync = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "data" / "screenshots"
CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

TEXT = {
    "ja": {
        "assets": "資産",
        "search": "検索",
        "edit": "編集",
        "save": "保存",
        "history": "変更履歴",
        "updated": "更新",
        "version": "ソフトウェア/ファームウェアのバージョン",
        "pages": [
            ("/places/", "設置場所"),
            ("/subnets/", "サブネット"),
            ("/connections/", "外部接続"),
        ],
    },
    "en": {
        "assets": "Assets",
        "search": "Search",
        "edit": "Edit",
        "save": "Save",
        "history": "History",
        "updated": "Updated",
        "version": "Software/firmware version",
        "pages": [
            ("/places/", "Places"),
            ("/subnets/", "Subnets"),
            ("/connections/", "External connections"),
        ],
    },
}


def more_assets(hospital) -> None:  # type: ignore[no-untyped-def]
    """A fuller first page, so the screenshot shows a realistic list."""
    from medshield.assets.models import Asset

    kinds = [
        ("人工呼吸器", AssetKind.MEDICAL_DEVICE, "フクダ電子", Criticality.LIFE_SUSTAINING),
        ("超音波診断装置", AssetKind.MEDICAL_DEVICE, "キヤノンメディカル", Criticality.DIAGNOSTIC),
        ("電子カルテ端末", AssetKind.PC, "富士通", ""),
        ("透析装置", AssetKind.MEDICAL_DEVICE, "ニプロ", Criticality.TREATMENT),
        ("検体検査システム", AssetKind.MEDICAL_SYSTEM, "シスメックス", Criticality.SUPPORT),
    ]
    Asset.objects.bulk_create(
        Asset(
            asset_tag=f"ME-{300 + i:06d}",
            name=f"{name} {i // len(kinds) + 1}",
            kind=kind,
            manufacturer=maker,
            model=f"X-{100 + i}",
            department=["集中治療部", "放射線科", "腎臓内科", "臨床検査部"][i % 4],
            criticality=criticality,
            status=AssetStatus.PLANNED if i % 7 == 3 else AssetStatus.IN_SERVICE,
            room=hospital.icu if i % 2 else hospital.server_room,
        )
        for i, (name, kind, maker, criticality) in enumerate(kinds * 4)
    )


@pytest.mark.parametrize("language", ["ja", "en"])
def test_it_finds_edits_and_shows_history(
    transactional_db, live_server, browser, engineer, staff_password, hospital, language
) -> None:
    text = TEXT[language]
    more_assets(hospital)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="ja-JP")
    page = context.new_page()
    expect = playwright_sync.expect
    try:
        page.goto(f"{live_server.url}/assets/")
        # Not logged in: the login page, in Japanese by default.
        expect(page.locator("h1")).to_have_text("ログイン")
        page.screenshot(path=str(SCREENSHOTS / "login.png"))
        page.fill("#id_username", engineer.username)
        page.fill("#id_password", staff_password)
        page.locator("form button[type=submit]").last.click()
        expect(page.locator("h1")).to_have_text("資産")

        if language == "en":
            # medshield.js attaches the menu's handler when the page has loaded
            page.wait_for_load_state("load")
            with page.expect_navigation():
                page.select_option("#language-select", "en")
            expect(page.locator("h1")).to_have_text("Assets")
        expect(page.locator("html")).to_have_attribute("lang", language)
        page.screenshot(path=str(SCREENSHOTS / f"asset-list-{language}.png"), full_page=True)

        # Filter and search; htmx replaces just the table, so this page's window survives.
        page.evaluate("window.sameDocument = true")
        page.select_option("#id_kind", "medical_device")
        expect(page.locator("#asset-table tbody tr")).to_have_count(14)
        page.fill("#id_q", "輸液ポンプ")
        page.locator("#asset-filter button[type=submit]").click()
        expect(page.locator("#asset-table tbody tr")).to_have_count(1)
        assert page.evaluate("window.sameDocument") is True
        expect(page).to_have_url(re.compile(r"/assets/\?q=%E8%BC%B8"))  # hx-push-url
        page.get_by_role("link", name="輸液ポンプ ICU-1").click()
        expect(page.locator("h1")).to_have_text("輸液ポンプ ICU-1")

        page.get_by_role("link", name=text["edit"], exact=True).click()
        page.get_by_label(text["version"]).fill("3.0.0")
        page.screenshot(path=str(SCREENSHOTS / f"asset-form-{language}.png"), full_page=True)
        page.get_by_role("button", name=text["save"]).click()

        expect(page.locator("#software-version")).to_have_text("3.0.0")
        history = page.locator("#history")
        expect(history.locator("h2")).to_have_text(text["history"])
        first = history.locator("tbody tr").first
        expect(first).to_contain_text(text["updated"])
        expect(first).to_contain_text(engineer.username)
        expect(first.locator(".history-old")).to_have_text("2.1.0")
        expect(first.locator(".history-new")).to_have_text("3.0.0")
        page.screenshot(path=str(SCREENSHOTS / f"asset-detail-{language}.png"), full_page=True)

        for url, heading in text["pages"]:
            page.goto(f"{live_server.url}{url}")
            expect(page.locator("h1")).to_have_text(heading)
            name = url.strip("/")
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{language}.png"), full_page=True)
    finally:
        context.close()
