"""The main pages in a real browser under the Content-Security-Policy: nothing is blocked.

Chromium reports every blocked script, style, image or eval as a ``securitypolicyviolation``
event and a console error; both are collected on every page. The test first proves that the
collector works (an injected inline script is blocked and reported), then walks the pages,
uses the language menu (moved from an inline handler to medshield.js) and pans the diagram.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
playwright_sync = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no Debian chromium"),
]

COLLECT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sample);
});
"""


def test_the_main_pages_raise_no_csp_violation(  # type: ignore[no-untyped-def]
    transactional_db, live_server, browser, engineer, staff_password, hospital
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    context.add_init_script(COLLECT)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    expect = playwright_sync.expect

    def violations() -> list[str]:
        return list(page.evaluate("window.__csp")) + [
            m for m in console if "Content Security Policy" in m
        ]

    try:
        page.goto(f"{live_server.url}/login/")
        # The collector works: an injected inline script is blocked and reported.
        page.evaluate(
            "var s = document.createElement('script'); s.textContent = 'window.pwned = 1';"
            "document.body.appendChild(s);"
        )
        page.wait_for_function("window.__csp.length > 0")
        assert page.evaluate("window.pwned") is None
        assert any(v.startswith("script-src") for v in violations())
        console.clear()

        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", engineer.username)
        page.fill("#id_password", staff_password)
        page.locator("form button[type=submit]").last.click()
        expect(page.locator("h1")).to_have_text("資産")
        assert violations() == []

        # The language menu works without its old inline handler.
        # medshield.js attaches the menu's handler when the page has loaded
        page.wait_for_load_state("load")
        with page.expect_navigation():
            page.select_option("#language-select", "en")
        expect(page.locator("h1")).to_have_text("Assets")
        # htmx filtering (no eval) still swaps the table in place.
        page.select_option("#id_kind", "medical_device")
        expect(page.locator("#asset-table tbody tr").first).to_be_visible()
        assert violations() == [], "/assets/"

        pages = [
            (f"/assets/{hospital.pump.asset_tag}/", "h1"),
            (f"/assets/{hospital.pump.asset_tag}/edit/", "form"),
            ("/places/", "h1"),
            ("/diagrams/network/", "#diagram svg"),
            ("/diagrams/", "h1"),
            ("/discovery/", "h1"),
            ("/feeds/", "h1"),
            ("/sboms/", "h1"),
            ("/register/import/", "h1"),
        ]
        for url, selector in pages:
            page.goto(f"{live_server.url}{url}")
            expect(page.locator(selector).first).to_be_visible()
            if url == "/diagrams/network/":
                # svg-pan-zoom ran (its control icons and their <style> are allowed by hash).
                page.wait_for_function("!!window.diagramZoom")
                expect(page.locator("#svg-pan-zoom-controls")).to_have_count(1)
            page.wait_for_load_state("networkidle")
            assert violations() == [], url
    finally:
        context.close()
