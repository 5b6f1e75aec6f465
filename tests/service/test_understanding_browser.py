"""The diagnose-and-audit page in a real headless Chromium against the real service, on a
store with a real promotion: reached from the insights hub, a diagnosis and audits of a run
and of a configuration shown as the API answers them, mistakes shown as the server's
message (a refused configuration field by field), in both themes.

Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.learning.conftest import SEED_FEATURES, Promoted, promoted, promoted_home
from tests.service.test_browser import dashboard_page, launched, shot
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
    with launched(chromium) as browser, dashboard_page(browser, server) as opened:
        yield opened


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

    # A configuration whose only threshold no return model reaches: audited, nothing run.
    runs = httpx.get(f"{server.url}/runs").json()
    config = {
        "symbol": "SYN",
        "reference_symbols": ["REF"],
        "seed_features": SEED_FEATURES,
        "max_generations": 1,
        "strategy": {"thresholds": [3.0]},
    }
    editor = page.get_by_label("Evolution configuration (JSON)")
    assert json.loads(editor.input_value())["symbol"] == "SP500"
    editor.fill(json.dumps(config))
    page.get_by_role("button", name="Audit configuration").click()
    expect(page.locator("#audit-summary")).to_contain_text("config for SYN: 1 error(s)")
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("never_trades")
    expect(rows.first).to_contain_text("the threshold 3 is above the largest |target| of SYN's")
    shot(page, "understanding-3-audit-config-dark")
    editor.fill(json.dumps({**config, "max_generation": 1}))
    page.get_by_role("button", name="Audit configuration").click()
    errors = page.locator("#audit-error")
    expect(errors).to_contain_text("The configuration was not audited")
    expect(errors).to_contain_text("config.max_generation: Extra inputs are not permitted")
    expect(page.locator("#audit-region")).to_be_hidden()
    editor.fill("{")
    page.get_by_role("button", name="Audit configuration").click()
    expect(errors).to_contain_text("The configuration is not valid JSON")
    assert httpx.get(f"{server.url}/runs").json() == runs  # an audit records nothing

    page.get_by_label("Promotion or run id").fill("nope")
    page.get_by_role("button", name="Diagnose", exact=True).click()
    expect(page.locator("#diagnose-error")).to_contain_text("no promotion or run 'nope'")
    expect(page.locator("#diagnose-region")).to_be_hidden()
