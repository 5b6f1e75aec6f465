"""The diagnose-and-audit page in a real headless Chromium against the real service, on a
store with a real promotion: reached from the insights hub, a diagnosis and an audit
shown as the API answers them, a mistake shown as the server's message, in both themes.

Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.learning.conftest import Promoted, promoted, promoted_home
from tests.service.test_browser import CHROMIUM_ARGS, dashboard_page, shot
from tests.service.test_insights_browser import Server

pytestmark = pytest.mark.browser
__all__ = ["promoted", "promoted_home"]


@pytest.fixture
def server(promoted: Promoted) -> Iterator[Server]:
    started = Server(os.environ["FACTORY_DB"])
    yield started
    started.stop()


@pytest.fixture
def page(chromium: Path, server: Server) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        with dashboard_page(browser, server) as opened:
            yield opened
        browser.close()


def test_diagnose_and_audit_in_a_browser(page: Page, server: Server, promoted: Promoted) -> None:
    promotion = promoted.promotion
    expected = httpx.get(f"{server.url}/api/diagnose/{promotion.id}", timeout=600).json()
    page.goto("/ui/insights")
    page.get_by_role("link", name="diagnose and audit").click()
    expect(page).to_have_url(f"{server.url}/ui/understanding")

    page.get_by_label("Promotion or run id").fill(promotion.id)
    page.get_by_role("button", name="Diagnose", exact=True).click()
    expect(page.locator("#diagnose-summary")).to_contain_text(f"promotion {promotion.id}, holdout")
    expect(page.locator("#diagnose-summary")).to_contain_text(
        f"{expected['trades']} closed trades, {expected['tests']} tests."
    )
    verdict = page.locator("#diagnose-verdict li")
    expect(verdict).to_have_count(len(expected["verdict"]))
    expect(verdict.first).to_have_text(expected["verdict"][0])
    tested = [s for s in expected["splits"] if s["p_value"] is not None]
    expect(page.locator("#splits-table tbody tr")).to_have_count(len(tested))
    expect(page.locator("#attribution-note")).to_have_text(expected["attribution_note"])
    expect(page.locator("#attribution-table tbody tr")).to_have_count(len(expected["attribution"]))
    shot(page, "understanding-1-diagnosis-light")

    page.get_by_role("button", name="Dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_label("Run id", exact=True).fill(promotion.run_id)
    page.get_by_role("button", name="Audit", exact=True).click()
    expect(page.locator("#audit-summary")).to_contain_text(f"run {promotion.run_id}:")
    audit = httpx.post(
        f"{server.url}/api/audit", json={"run_id": promotion.run_id}, timeout=600
    ).json()
    expect(page.locator("#audit-table tbody tr")).to_have_count(max(1, len(audit["findings"])))
    shot(page, "understanding-2-audit-dark")

    page.get_by_label("Promotion or run id").fill("nope")
    page.get_by_role("button", name="Diagnose", exact=True).click()
    expect(page.locator("#diagnose-error")).to_contain_text("no promotion or run 'nope'")
    expect(page.locator("#diagnose-region")).to_be_hidden()
