"""The dashboard in a real headless Chromium (Debian's, driven by Playwright) against a real
server with two local workers: start a run from the form, watch both progress bars reach
the end, open the promoted model in the hall of fame, and switch the theme for good.

Screenshots of every step go to ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from strategy_factory.store import create_store
from tests.service.recorded_runs import (
    CELLS,
    LUCKY_SQN,
    Recorded,
    record_promoted_run,
    record_running_run,
)
from tests.service.server import Server, serving
from tests.service.test_evolve import SEEDS

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUN_SECONDS = 120
# The dashboard polls every 2-5 s; on a loaded machine a page's first answer can take
# many polls. Every wait ends on its event; this is only the ceiling.
POLL_CEILING_MS = 20 * 5_000
expect.set_options(timeout=POLL_CEILING_MS)


@pytest.fixture
def server(bars_home: Path, tmp_path: Path) -> Iterator[Server]:
    db = f"sqlite:///{tmp_path / 'factory.db'}"
    # Unbuffered, so that its access log shows each request as it is answered.
    unbuffered = {"PYTHONUNBUFFERED": "1"}
    with serving(bars_home, db, tmp_path / "server.log", workers=2, env=unbuffered) as started:
        yield started


@contextmanager
def launched(chromium: Path) -> Iterator[Browser]:
    """Debian's Chromium at ``chromium``, driven by Playwright, closed afterwards."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium: Path) -> Iterator[Browser]:
    with launched(chromium) as opened:
        yield opened


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A page of the dashboard; the test fails if anything broke the CSP or threw."""
    with dashboard_page(browser, server) as opened:
        yield opened


@contextmanager
def dashboard_page(browser: Browser, server: Server) -> Iterator[Page]:
    """A page of ``server``'s dashboard, failing the test if anything broke the CSP or threw."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(POLL_CEILING_MS)
    # Chromium reports what the Content-Security-Policy refused as this event, too.
    context.add_init_script(CSP_LISTENER)
    opened = context.new_page()
    # Only the dashboard's own server may be reached: no CDN, no network.
    context.route(re.compile(r"^(?!http://127\.0\.0\.1)"), lambda route: route.abort())
    problems: list[str] = []
    opened.on("console", lambda message: _note_violation(problems, message.type, message.text))
    opened.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    yield opened
    problems += [f"CSP: {v}" for v in opened.evaluate("window.cspViolations || []")]
    context.close()
    assert problems == [], problems


CSP_LISTENER = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} refused ${event.blockedURI}`);
});
"""


def _note_violation(problems: list[str], kind: str, text: str) -> None:
    if kind == "error" and "Content Security Policy" in text:
        problems.append(text)


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def start_run_from_the_form(page: Page) -> str:
    page.goto("/ui/evolve")
    expect(page.locator("#symbol option[value='SYN']")).to_be_attached()
    page.get_by_label("Symbol").select_option("SYN")
    expect(page.locator("#seed-features option[value='exo_planted']")).to_be_attached()
    page.get_by_label("Seed features").select_option(SEEDS)
    page.get_by_label("Generations").fill("2")
    for field, value in [
        ("SQN-100 minimum", "1"),
        ("SQN-100 maximum", ""),
        ("Profit factor minimum", "1.05"),
        ("Profit factor maximum", ""),
        ("Trades minimum", "30"),
        ("Trades maximum", ""),
        ("Weekly consistency maximum", ""),
        ("Minimum Deflated Sharpe Ratio", "0"),
    ]:
        page.get_by_label(field, exact=True).fill(value)
    # Simulate every generation, so both progress bars run to their end.
    page.get_by_label("Stop the run at its first promotion").uncheck()
    shot(page, "1-form")
    page.get_by_role("button", name="Start evolution").click()
    status = page.get_by_role("status").filter(has_text="is pending")
    expect(status).to_be_visible()
    return re.search(r"Run (\w+) on SYN", status.inner_text()).group(1)


def test_a_run_started_in_the_browser_is_promoted_and_shown(page: Page) -> None:
    run_id = start_run_from_the_form(page)

    page.get_by_role("link", name="all runs").click()
    row = page.locator("#runs-table tbody tr").filter(has_text=run_id)
    expect(row.locator("[data-run-status]")).to_have_attribute(
        "data-run-status", "completed", timeout=RUN_SECONDS * 1000
    )
    for phase in ("Training", "Simulation"):
        bar = row.get_by_label(f"{phase} progress of run {run_id}")
        expect(bar).to_have_js_property("value", bar.evaluate("b => b.max"))
    expect(row).to_contain_text("yes")  # promoted
    shot(page, "2-runs")

    row.get_by_role("link", name=run_id).click()
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator("#sqn-chart .main-svg").first).to_be_attached()
    expect(page.locator("#generations-table tbody tr")).not_to_have_count(0)
    shot(page, "3-run")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Hall of fame").click()
    promotion = page.locator("#promoted-table tbody tr").filter(has_text=run_id)
    expect(promotion).to_have_count(1)
    promotion.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Promoted strategy")
    expect(page.locator("#verdict-table tbody tr")).not_to_have_count(0)
    expect(page.locator("#verdict-table tbody")).not_to_contain_text("no")
    expect(page.locator("#lineage-chart .main-svg").first).to_be_attached()
    expect(page.locator("#model-facts")).to_contain_text("exo_planted")
    shot(page, "4-promotion")


def test_the_theme_persists_and_applies_before_the_first_paint(page: Page) -> None:
    page.goto("/ui")
    toggle = page.get_by_role("button", name="Dark theme")
    start = page.evaluate("document.documentElement.dataset.theme")
    expect(toggle).to_have_attribute("aria-pressed", "true" if start == "dark" else "false")
    if start == "dark":
        toggle.click()
    toggle.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    light_background = "rgb(255, 255, 255)"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != light_background

    # Record the theme at the moment the document is parsed, before anything is painted.
    page.context.add_init_script(
        "document.addEventListener('DOMContentLoaded', () => {"
        " window.themeWhenParsed = document.documentElement.dataset.theme; });"
    )
    page.reload()
    assert page.evaluate("window.themeWhenParsed") == "dark"
    expect(page.get_by_role("button", name="Dark theme")).to_have_attribute("aria-pressed", "true")
    page.goto("/ui/jobs")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    # The server's two local workers report in.
    expect(page.locator("#workers-table tbody tr")).to_have_count(2)
    expect(page.locator("#jobs-region")).to_have_attribute("aria-busy", "false")
    shot(page, "5-jobs-dark")
    page.get_by_role("link", name="Status").click()
    expect(page.locator("#stats-workers")).to_have_text("2")
    shot(page, "6-status-dark")


def test_the_dashboard_is_keyboard_usable_and_labelled(page: Page) -> None:
    page.goto("/ui/evolve")
    expect(page.locator("#symbol option")).not_to_have_count(0)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('input, select, button')]
            .filter((e) => e.offsetParent !== null)
            .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                && !e.textContent.trim())
            .map((e) => e.id || e.outerHTML)"""
    )
    assert unnamed == []
    # The reference checkboxes are reachable and operable from the keyboard.
    reference = page.get_by_label("NOISE")
    reference.focus()
    page.keyboard.press("Space")
    expect(reference).to_be_checked()
    expect(page.locator("#seed-features option[value='ref_NOISE_ret_1']")).to_be_attached()


def test_the_browser_enforces_the_policy(browser: Browser, server: Server) -> None:
    """The check above can see a violation: an injected inline script is refused."""
    context = browser.new_context(base_url=server.url)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.goto("/ui")
    ran = page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.append(script);
            return window.injected === true;
        }"""
    )
    assert ran is False
    expect(page.locator("body")).to_be_visible()
    page.wait_for_function("window.cspViolations.length > 0")
    assert "script-src" in page.evaluate("window.cspViolations[0]")
    context.close()


@pytest.fixture
def promoted_run(server: Server) -> Recorded:
    """A run recorded in the server's store: promoted in generation 2, then stopped."""
    with create_store(server.db) as store:
        return record_promoted_run(store)


def column(page: Page, table: str, index: int) -> list[str]:
    return page.locator(f"{table} tbody tr").evaluate_all(
        f"rows => rows.map((row) => row.cells[{index}].textContent)"
    )


def test_a_run_that_stopped_early_shows_what_it_did(page: Page, promoted_run: Recorded) -> None:
    run_id = promoted_run.run_id
    page.goto("/ui/runs")
    row = page.locator("#runs-table tbody tr").filter(has_text=run_id)
    expect(row).to_contain_text(f"{2 * CELLS} cells; stopped early: promoted")
    expect(row).not_to_contain_text(f"{8 * CELLS}")

    page.goto(f"/ui/runs/{run_id}")
    expect(page.locator("#simulation-text")).to_have_text(
        f"{2 * CELLS} cells; stopped early after generation 2: promoted"
    )
    expect(page.locator("#training-text")).to_have_text("4 models")
    holdout = page.locator("#generations-table tbody tr td:last-child")
    expect(holdout).to_have_text(
        [
            "SQN-100 0.4 is below 1",
            "not simulated: same model as parent",
            "met every criterion on the holdout",
            "not run: the run stopped",
        ]
    )


def test_top_results_are_distinct_configurations_with_enough_trades(
    page: Page, promoted_run: Recorded
) -> None:
    page.goto(f"/ui/runs/{promoted_run.run_id}")
    expect(page.locator("#top-heading")).to_contain_text("at least 30 trades, by SQN-100")
    rows = page.locator("#top-table tbody tr")
    expect(rows).to_have_count(10)
    texts = rows.evaluate_all("rows => rows.map((row) => row.textContent)")
    assert len(set(texts)) == len(texts), texts
    assert min(int(t.replace(",", "")) for t in column(page, "#top-table", 6)) >= 30
    ranks = [float(t) for t in column(page, "#top-table", 7)]
    assert ranks == sorted(ranks, reverse=True)
    chart = page.locator("#sqn-chart")
    expect(chart.locator(".main-svg").first).to_be_attached()
    best = chart.evaluate("c => c.data[0].y")
    assert len(best) == 2 and LUCKY_SQN not in best  # generations 0 and 2, ranked alike
    assert max(best) == ranks[0]
    shot(page, "7-run-stopped-early")


def test_a_running_run_has_no_verdict_yet(page: Page, server: Server) -> None:
    with create_store(server.db) as store:
        running = record_running_run(store)
        assert store.runs.get(running.run_id).status == "running"
    page.goto(f"/ui/runs/{running.run_id}")
    expect(page.locator("#simulation-text")).to_have_text(f"{CELLS} of {2 * CELLS}")
    verdict = page.locator("#run-verdict")
    expect(verdict).to_contain_text("In progress")
    expect(verdict).not_to_contain_text("not promoted")
    expect(page.locator("#generations-table tbody tr td:last-child").last).to_have_text(
        "not simulated yet"
    )


def test_the_lineage_chart_shows_every_node_label_whole(page: Page, promoted_run: Recorded) -> None:
    page.goto(f"/ui/promoted/{promoted_run.promoted_id}")
    labels = page.locator("#lineage-chart .textpoint text")
    expect(labels).to_have_count(4)
    expect(labels.filter(has_text="promoted")).to_have_count(1)
    area = page.locator("#lineage-chart .draglayer .nsewdrag").bounding_box()
    assert area is not None
    for box in labels.evaluate_all("nodes => nodes.map((n) => n.getBoundingClientRect().toJSON())"):
        inside = (
            area["x"] <= box["left"]
            and box["right"] <= area["x"] + area["width"]
            and area["y"] <= box["top"]
            and box["bottom"] <= area["y"] + area["height"]
        )
        assert inside, (box, area)
    shot(page, "8-lineage")


ACCESS_LINE = re.compile(r'"[A-Z]+ (\S+) HTTP/[\d.]+" (\d{3})')


def served_since(server: Server, offset: int) -> list[tuple[str, int]]:
    """Every request the server answered since byte ``offset`` of its log: path, status."""
    with server.log.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    return [(path, int(status)) for path, status in ACCESS_LINE.findall(text)]


def test_no_request_of_any_page_fails(
    browser: Browser, server: Server, promoted_run: Recorded
) -> None:
    # A context without request routing: Chromium fetches no page icon while Playwright
    # routes requests. Playwright does not report that fetch either: the server's access
    # log does.
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(POLL_CEILING_MS)
    page = context.new_page()
    offset = server.log.stat().st_size
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    pages = [
        ("/ui", "#overview[aria-busy=false]"),
        ("/ui/evolve", "#symbol option"),
        ("/ui/runs", "#runs-region[aria-busy=false]"),
        (f"/ui/runs/{promoted_run.run_id}", "#run-progress[aria-busy=false]"),
        ("/ui/promoted", "#promoted-region[aria-busy=false]"),
        (f"/ui/promoted/{promoted_run.promoted_id}", "#promotion-root[aria-busy=false]"),
        ("/ui/jobs", "#jobs-region[aria-busy=false]"),
    ]
    for path, ready in pages:
        page.goto(path)
        expect(page.locator(ready).first).to_be_attached()
    deadline = time.monotonic() + POLL_CEILING_MS / 1000
    while not any("favicon" in path for path, _ in served_since(server, offset)):
        assert time.monotonic() < deadline, "the browser never asked for the page's icon"
        time.sleep(0.2)
    served = served_since(server, offset)
    assert failed == []
    assert [(path, status) for path, status in served if status >= 400] == []
    favicon = page.request.get("/favicon.ico")
    assert favicon.ok and favicon.headers["content-type"].startswith("image/svg+xml")
    context.close()


def test_a_late_answer_for_an_earlier_symbol_does_not_replace_the_features(page: Page) -> None:
    held: list[Route] = []

    def hold_others(route: Route) -> None:  # the first symbol's features answer last
        if "symbol=SYN" in route.request.url:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r"/api/features/columns\?"), hold_others)
    page.goto("/ui/evolve")
    deadline = time.monotonic() + POLL_CEILING_MS / 1000
    while not held:
        assert time.monotonic() < deadline, "the form never asked for the first features"
        page.wait_for_timeout(50)
    page.get_by_label("Symbol").select_option("SYN")
    planted = page.locator("#seed-features option[value='exo_planted']")
    expect(planted).to_be_attached()
    with page.expect_response(lambda r: "/api/features/columns" in r.url):
        for route in held:
            route.continue_()
    page.wait_for_timeout(500)  # let the late answer be handled (if it were used)
    expect(planted).to_be_attached()
