"""The hypotheses and indicators page in a real headless Chromium against a real server
process: reached from the insights hub, a hypothesis tested from the form shows its
principle and joins the table confirmed, a refused one lists the field to fix, and an
indicator search from the form lists its formulas; in the dark theme after a reload.
Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.service.test_browser import browser, page, server, shot

pytestmark = pytest.mark.browser
__all__ = ["browser", "page", "server"]

PLANTED = {
    "name": "planted-up",
    "symbol": "SYN",
    "feature": "exo_planted",
    "k": 1.5,
    "side": "above",
    "expect": "up",
}


def test_hypotheses_and_indicators_in_a_browser(page: Page) -> None:
    page.goto("/ui/insights")
    page.get_by_role("link", name="hypotheses and indicators").click()
    expect(page.get_by_role("heading", name="Hypotheses and indicators", level=1)).to_be_visible()
    expect(page.locator("#hypotheses-table tbody")).to_contain_text("No hypothesis tested yet")
    form = page.get_by_label("Hypotheses (JSON)")
    assert json.loads(form.input_value())["hypotheses"][0]["symbol"] == "SP500"

    form.fill(json.dumps({"hypotheses": [{**PLANTED, "horizon": 0}]}))
    page.get_by_role("button", name="Test").click()
    expect(page.locator("#hypothesis-errors")).to_contain_text("hypotheses.0.horizon")

    form.fill(json.dumps({"hypotheses": [PLANTED]}))
    page.get_by_role("button", name="Test").click()
    expect(page.locator("#hypothesis-result")).to_contain_text("confirmed at FDR 5%")
    expect(page.locator("#hypothesis-errors")).to_be_hidden()
    row = page.locator("#hypotheses-table tbody tr").filter(has_text="planted-up")
    expect(row.locator("[data-confirmed='true']")).to_have_text("confirmed")
    expect(page.locator("#family")).to_contain_text("1 hypothesis in the family")

    page.get_by_label("Symbol").fill("SYN")
    page.get_by_label("Generations").fill("1")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#discover-result")).to_contain_text("formulas tried")
    expect(page.locator("#indicators-table tbody tr").first).to_contain_text("formula:")
    shot(page, "hypotheses-1-light")

    page.get_by_role("button", name="Dark theme").click()
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(row.locator("[data-confirmed='true']")).to_be_visible()
    expect(page.locator("#indicators-table tbody tr").first).to_contain_text("formula:")
    shot(page, "hypotheses-2-dark")
