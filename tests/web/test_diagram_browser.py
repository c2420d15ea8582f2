"""The network diagram in a real browser: filter it by a building, click a device, land on it."""

from __future__ import annotations

import pytest

from .test_browser import SCREENSHOTS, playwright_sync

pytestmark = [pytest.mark.browser]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_it_filters_the_network_diagram_and_opens_a_device(
    transactional_db,
    live_server,
    browser,
    engineer,
    staff_password,
    hospital,
    language,  # noqa: F811
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="ja-JP")
    page = context.new_page()
    expect = playwright_sync.expect
    try:
        page.goto(f"{live_server.url}/diagrams/network/")
        page.fill("#id_username", engineer.username)
        page.fill("#id_password", staff_password)
        page.locator("form button[type=submit]").last.click()
        expect(page.locator("h1")).to_contain_text("構成図")
        if language == "en":
            # medshield.js attaches the menu's handler when the page has loaded
            page.wait_for_load_state("load")
            with page.expect_navigation():
                page.select_option("#language-select", "en")
        heading = {"ja": "構成図", "en": "Configuration diagrams"}[language]
        expect(page.locator("h1")).to_contain_text(heading)
        svg = page.locator("#diagram svg")
        expect(svg).to_be_visible()
        # Both buildings' devices are drawn until the filter says otherwise.
        expect(svg.locator("g.node", has_text=hospital.pump.name)).to_have_count(1)
        expect(svg.locator("g.node", has_text=hospital.host.name)).to_have_count(1)

        page.select_option("#id_building", str(hospital.main.pk))
        page.locator("#diagram-filters button[type=submit]").click()
        expect(page).to_have_url(
            f"{live_server.url}/diagrams/network/?"
            f"site=&building={hospital.main.pk}&floor=&zone=&subnet="
            "&department=&at=&view="
        )
        svg = page.locator("#diagram svg")
        expect(svg.locator("g.node", has_text=hospital.pump.name)).to_have_count(1)
        expect(svg.locator("g.node", has_text=hospital.host.name)).to_have_count(0)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"diagram-network-{language}.png"))

        svg.locator("g.node", has_text=hospital.pump.name).locator("a").first.click()
        expect(page.locator("h1")).to_have_text(hospital.pump.name)
        expect(page).to_have_url(f"{live_server.url}/assets/{hospital.pump.asset_tag}/")
    finally:
        context.close()
