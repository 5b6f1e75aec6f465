"""The workflows pages in a real headless Chromium against a real ``factory serve``: start
a small workflow on the planted series from the page, watch its phases reach done with
their progress, read the validation result, in the light and the dark theme.

Screenshots go to ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from strategy_factory.data import BarCatalog
from tests.service.server import Server, serving
from tests.service.test_browser import browser, dashboard_page, shot  # noqa: F401 (a fixture)
from tests.workflow import conftest as workflow_fixtures
from tests.workflow.conftest import small_workflow

pytestmark = pytest.mark.browser

planted_home = workflow_fixtures.planted_home  # FACTORY_HOME with the planted series
# The phases run in a process of the server's (seconds here); the page polls every 2 s.
# Every wait ends on its event; this is only the ceiling for a loaded machine.
WORKFLOW_MS = 600_000
PHASES = ["parameter_discovery", "regime_analysis", "ensemble_optimization", "validation"]


@pytest.fixture
def planted_server(planted_home: BarCatalog, tmp_path: Path) -> Iterator[Server]:
    db = f"sqlite:///{tmp_path / 'factory.db'}"
    home = planted_home.root.parent
    unbuffered = {"PYTHONUNBUFFERED": "1"}
    with serving(home, db, tmp_path / "server.log", workers=0, env=unbuffered) as started:
        yield started


@pytest.fixture
def workflow_page(browser: Browser, planted_server: Server) -> Iterator[Page]:  # noqa: F811
    with dashboard_page(browser, planted_server) as opened:
        yield opened


def start_from_the_form(page: Page, config: object) -> str:
    page.goto("/ui/workflows")
    page.get_by_label("Workflow (JSON)").fill(json.dumps(config, indent=2))
    page.get_by_role("button", name="Start workflow").click()
    status = page.get_by_role("status").filter(has_text="is pending")
    expect(status).to_be_visible()
    return re.search(r"Workflow (wf-[\w-]+) \(", status.inner_text()).group(1)


def test_a_workflow_started_in_the_browser_runs_its_phases_to_done(workflow_page: Page) -> None:
    page = workflow_page
    page.goto("/ui/workflows")
    nav = page.get_by_role("navigation", name="Main").get_by_role("link", name="Workflows")
    expect(nav).to_have_attribute("aria-current", "page")
    # Mistakes are explained, and start nothing.
    page.get_by_label("Workflow (JSON)").fill("{ not json")
    page.get_by_role("button", name="Start workflow").click()
    expect(page.locator("#workflow-errors")).to_contain_text("not valid JSON")
    wrong = {**small_workflow(), "phases": [{"type": "guess_the_market"}]}
    page.get_by_label("Workflow (JSON)").fill(json.dumps(wrong))
    page.get_by_role("button", name="Start workflow").click()
    errors = page.locator("#workflow-errors")
    expect(errors).to_contain_text("The workflow was not started")
    expect(errors).to_contain_text("phases.0")
    expect(page.locator("#workflows-table tbody")).to_contain_text("No workflows")

    workflow_id = start_from_the_form(page, small_workflow())
    expect(page.locator("#workflow-errors")).to_be_hidden()
    row = page.locator("#workflows-table tbody tr").filter(has_text=workflow_id)
    expect(row).to_contain_text("PLANTED")
    shot(page, "workflow-1-list")

    page.get_by_role("link", name="Follow this workflow").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(workflow_id)
    for name in PHASES:
        state = page.locator(f"[data-phase='{name}']")
        expect(state).to_have_attribute("data-phase-state", "done", timeout=WORKFLOW_MS)
        bar = page.get_by_label(f"Progress of phase {name}")
        expect(bar).to_have_js_property("value", bar.evaluate("b => b.max"))
    expect(page.locator("#workflow-state")).to_have_attribute("data-workflow-state", "done")
    expect(page.locator("#workflow-state")).to_have_text("done")
    discovery = page.locator("#phases-table tbody tr").first
    expect(discovery).to_contain_text("trials 16")
    expect(page.locator("#result-verdict")).to_have_attribute("data-passed", "true")
    expect(page.locator("#result-facts")).to_contain_text("regime switches")
    expect(page.locator("#resume-workflow")).to_be_enabled()
    shot(page, "workflow-2-done-light")

    page.get_by_role("button", name="Dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    shot(page, "workflow-3-done-dark")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workflows").click()
    row = page.locator("#workflows-table tbody tr").filter(has_text=workflow_id)
    expect(row.locator("[data-workflow-state]")).to_have_attribute("data-workflow-state", "done")
    expect(row).to_contain_text("4 of 4")
