"""The chart validation page in a real headless Chromium against the real service, in both
themes: reached from the insights hub and from a run's page (the run id filled in), a
validation of a real small run started from the form runs on the server and its checks,
verdict and screenshots show as the API gives them; the validated report opens and draws
under its own sandbox policy; a bad run id is refused with what to fix and starts nothing.

Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.service.chart_runs import record_small_run
from tests.service.test_browser import dashboard_page, launched, shot
from tests.service.test_insights_browser import Server

pytestmark = pytest.mark.browser
# Chromium on the server draws and photographs a 5 MB report; this is only the ceiling.
VALIDATION_CEILING_MS = 300_000
DRAWN = """() => ["equity-chart", "trades-chart"].every(id => {
  const gd = document.getElementById(id);
  return gd && gd._fullData && gd.querySelector('.main-svg');
})"""
LOADED = """() => { const shots = [...document.querySelectorAll('#detail-screenshots img')];
  return shots.length === 2 && shots.every(img => img.complete && img.naturalWidth > 0); }"""


@pytest.fixture(scope="module")
def served(
    bars_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    """The service over a store with a small finished run (and that run's id)."""
    root = tmp_path_factory.mktemp("chart-validation")
    db = f"sqlite:///{root / 'factory.db'}"
    run_id = record_small_run(bars_home, db)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORY_HOME", str(bars_home))
        patch.setenv("FACTORY_RESULTS", str(root / "results"))
        started = Server(db)
        yield started, run_id
        started.stop()


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with launched(chromium) as opened:
        yield opened


@pytest.fixture
def page(browser: Browser, served: tuple[Server, str]) -> Iterator[Page]:
    with dashboard_page(browser, served[0]) as opened:
        yield opened


def validations(server: Server) -> list[dict]:
    """The validations as the API lists them."""
    return httpx.get(f"{server.url}/api/report-validations").json()


@pytest.mark.parametrize(
    ("theme", "token"), [("light", None), ("dark", "a-token")], ids=["light", "dark-token"]
)
def test_a_validation_started_in_the_browser_shows_its_checks_and_screenshots(
    page: Page, served: tuple[Server, str], theme: str, token: str | None
) -> None:
    server, run_id = served
    page.goto("/ui/insights")
    if token is not None:  # what the token form stores; the loopback server ignores it
        page.evaluate("token => sessionStorage.setItem('factory-token', token)", token)
    if theme == "dark":
        page.get_by_role("button", name="Dark theme").click()
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_role("link", name="chart validation").click()
    expect(page).to_have_url(f"{server.url}/ui/insights/chart-validation")
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    expect(page.locator("#validations-region")).to_have_attribute("aria-busy", "false")

    # The run's page links here with the run filled in.
    page.goto(f"/ui/runs/{run_id}")
    page.get_by_role("link", name="validate its charts").click()
    field = page.get_by_label("Run id")
    expect(field).to_have_value(run_id)
    before = validations(server)

    errors = page.locator("#validate-errors")
    start = page.get_by_role("button", name="Validate charts")
    field.fill("nope")
    start.click()
    expect(errors).to_contain_text("no evolution run 'nope': list runs to see the known ids")
    field.fill("")
    start.click()
    expect(errors).to_contain_text("The validation was not started")
    expect(errors).to_contain_text("run_id: String should have at least 1 character")
    shot(page, f"chart-validation-1-refused-{theme}")
    assert validations(server) == before  # nothing recorded, nothing started

    field.fill(run_id)
    start.click()
    expect(errors).to_be_hidden()
    expect(page.locator("#validate-result")).to_contain_text(f"of run {run_id} started")
    started = validations(server)[0]
    assert started["id"] not in {v["id"] for v in before}
    row = page.locator("#validations-table tbody tr").filter(has_text=started["id"])
    expect(row.locator("[data-state]")).to_have_attribute(
        "data-state", "done", timeout=VALIDATION_CEILING_MS
    )
    validation = httpx.get(f"{server.url}/api/report-validations/{started['id']}").json()
    assert validation["passed"] is True, validation["verdict"]
    expect(row).to_contain_text(validation["verdict"])
    expect(page.locator("#detail-heading")).to_have_text(
        f"Validation {started['id']} of run {run_id}"
    )
    expect(page.locator("#detail-verdict")).to_have_text(validation["verdict"])
    checks = page.locator("#checks-table tbody tr")
    expect(checks).to_have_count(len(validation["checks"]))
    expect(checks.locator("[data-passed='true']")).to_have_count(len(validation["checks"]))
    for check in validation["checks"]:
        expect(checks.filter(has_text=check["what"]).first).to_contain_text(check["detail"])
    anomalies = page.locator("#anomalies-table tbody")
    if validation["anomalies"]:
        expect(anomalies.locator("tr")).to_have_count(len(validation["anomalies"]))
    else:
        expect(anomalies).to_have_text(
            "None flagged: no flat stretch, jump or gap beyond the bounds."
        )
    page.wait_for_function(LOADED)
    for screenshot in validation["screenshots"]:
        image = page.get_by_role("img", name=f"{screenshot['name']} of run {run_id}")
        expect(image).to_have_attribute("data-url", screenshot["url"])
        expect(image).to_have_attribute("src", re.compile(r"^blob:"))
    shot(page, f"chart-validation-2-done-{theme}")

    report = page.get_by_role("link", name="Open the validated report")
    expect(report).to_have_attribute("href", validation["report_url"])
    if token is not None:  # a link cannot send the token: the report is fetched and saved
        with page.expect_download() as saved:
            report.click()
        assert saved.value.suggested_filename == f"run-{run_id}-validated.html"
        page_text = Path(saved.value.path()).read_text(encoding="utf-8")
        assert f'<p class="verdict promoted">{validation["verdict"]}</p>' in page_text
    page.goto(validation["report_url"])
    expect(page.locator("#visual-validation .verdict")).to_have_text(validation["verdict"])
    page.wait_for_function(DRAWN)  # the report's own scripts run under its sandbox policy
