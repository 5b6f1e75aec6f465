"""The learning pages in a real headless Chromium against the real service, on a
store holding known learning records: the run page's insights sidebar, the hub's tabs by
mouse and keyboard, an alert acknowledged through the dialog, live announcements of a
rebalance and a new alert, and both surviving a reload with the theme; the settings form
showing the server's refusal next to the field. The service runs under uvicorn in a
thread of the test process, on a real socket: the module pays for no second start-up.

Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect

from strategy_factory.json_values import plain
from strategy_factory.learning import virtual_fund
from strategy_factory.service import ServiceSettings, create_app
from strategy_factory.service.coordinator import ExecutorFactory
from strategy_factory.store import create_store
from tests.service.recorded_learning import (
    OLDER_PERIOD,
    SCRIPT_ERROR,
    TRAITS_NEW,
    TRAITS_OLD,
    RecordedLearning,
    record_learning,
)
from tests.service.server import STARTUP_SECONDS, free_port
from tests.service.test_browser import dashboard_page, launched, shot

pytestmark = pytest.mark.browser


class Server:
    """The service under uvicorn in a thread of this process, which has imported it
    already: a real server on a socket for the browser, without a second start-up."""

    def __init__(self, db: str, executor_factory: ExecutorFactory | None = None) -> None:
        self.db = db
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        settings = ServiceSettings(db=db, workers=0, api_token=None)
        app = create_app(settings, executor_factory=executor_factory)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._server.started:
            assert self._thread.is_alive(), "the server stopped while starting"
            assert time.monotonic() < deadline, f"no server after {STARTUP_SECONDS} s"
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(STARTUP_SECONDS)


# One server and one browser for the module: starting them is most of its time.
@pytest.fixture(scope="module")
def learning_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = Server(f"sqlite:///{tmp_path_factory.mktemp('insights') / 'factory.db'}")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def insights_browser(chromium: Path) -> Iterator[Browser]:
    with launched(chromium) as opened:
        yield opened


@pytest.fixture
def recorded(learning_server: Server) -> RecordedLearning:
    with create_store(learning_server.db) as store:
        return record_learning(store)


@pytest.fixture
def page(insights_browser: Browser, learning_server: Server) -> Iterator[Page]:
    with dashboard_page(insights_browser, learning_server) as opened:
        yield opened


def expect_selected(page: Page, name: str) -> None:
    expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel", name=name)).to_be_visible()


def test_the_insights_hub_in_a_browser(
    page: Page, learning_server: Server, recorded: RecordedLearning
) -> None:
    first, second = recorded.first, recorded.second
    # The run page's sidebar: the weight of its promotion and the open alert on it.
    page.goto(f"/ui/runs/{recorded.run_id}")
    expect(page.locator("#run-allocation")).to_contain_text(
        f"60.0% of capital (snapshot {recorded.snapshot_id})"
    )
    expect(page.locator("#run-alerts")).to_contain_text("cusum 9.5 > 6")
    shot(page, "insights-1-run-sidebar")
    page.get_by_role("link", name="All learning insights").click()

    # Allocator: chart, diff against the previous snapshot, risk card, no fund yet.
    expect(page).to_have_url(f"{learning_server.url}/ui/insights#allocator")
    expect_selected(page, "Allocator")
    page.get_by_role("button", name="Dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    rows = page.locator("#diff-table tbody tr")
    expect(rows.filter(has_text=first)).to_contain_text("added–60.0%+60.0 pts")
    expect(rows.filter(has_text=second)).to_contain_text("changed50.0%40.0%-10.0 pts")
    expect(page.locator("#diff-turnover")).to_contain_text("Turnover 60.0%")
    risk = page.locator("#risk-card")
    expect(risk).to_contain_text("12.0% a year")
    expect(risk).to_contain_text("volatility cap20.0%")
    expect(risk).to_contain_text(f"{first} + {second} (together at most 80.0%)")
    expect(risk).to_contain_text("p-young: 45 returns, fewer than min_history 60")
    expect(page.locator("#fund-empty")).to_contain_text("No forward returns yet")
    chart = page.locator("#allocation-chart")
    expect(chart.locator(".main-svg").first).to_be_attached()
    assert chart.evaluate("c => [c.data[0].y, c.data[0].x]") == [[first, second], [0.6, 0.4]]
    shot(page, "insights-2-allocator-dark")

    # Keyboard: the arrows move between tabs, Home and End jump; the hash follows.
    page.get_by_role("tab", name="Allocator").focus()
    page.keyboard.press("ArrowLeft")
    expect_selected(page, "Meta-model")
    expect(page).to_have_url(f"{learning_server.url}/ui/insights#meta-model")
    expect(page.get_by_role("tabpanel", name="Meta-model")).to_be_visible()
    expect(page.get_by_role("tabpanel", name="Allocator")).to_be_hidden()
    heatmap = page.locator("#importance-heatmap")
    expect(heatmap.locator(".main-svg").first).to_be_attached()
    drawn = heatmap.evaluate("c => ({x: c.data[0].x, y: c.data[0].y, z: c.data[0].z})")
    assert drawn["x"] == ["v1", "v2"] and drawn["y"] == [t["trait"] for t in TRAITS_NEW]
    old = {t["trait"]: t["importance"] for t in TRAITS_OLD}
    assert drawn["z"] == [[old.get(t["trait"]), t["importance"]] for t in TRAITS_NEW]
    first_trait = page.locator("#traits-table tbody tr").first
    expect(first_trait).to_contain_text("z_limit0.45higher → less fit (ρ -0.31)")
    expect(page.locator("#meta-facts")).to_contain_text("ρ selection only0.12")
    shot(page, "insights-3-meta-model-dark")
    page.keyboard.press("End")
    expect_selected(page, "Knowledge")
    summary = page.locator("#knowledge-summary")
    expect(summary).to_contain_text(f"Failed: {SCRIPT_ERROR}")
    assert summary.locator("script").count() == 0
    assert page.evaluate("window.injected === undefined")
    expect(summary.get_by_role("heading", level=3)).to_contain_text("Learning summary")
    shot(page, "insights-4-knowledge-dark")
    page.get_by_label("Period").select_option(OLDER_PERIOD)
    expect(summary).to_contain_text("Older summary")
    page.get_by_role("tab", name="Knowledge").focus()
    page.keyboard.press("Home")
    expect_selected(page, "Meta-model")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect_selected(page, "Overfitting")
    expect(page).to_have_url(f"{learning_server.url}/ui/insights#overfitting")

    # Acknowledge the alert through the dialog: the row updates in place.
    row = page.locator(f'#alerts-table tr[data-alert="{recorded.alert_id}"]')
    expect(row).to_contain_text("cusum9.5 > 6")
    row.get_by_role("button").click()
    dialog = page.get_by_role("dialog", name=f"Acknowledge alert {recorded.alert_id}")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Acknowledged by")).to_be_focused()
    dialog.get_by_label("Acknowledged by").fill("ana")
    dialog.get_by_label("Note").fill("decay confirmed by hand")
    shot(page, "insights-5-ack-dialog")
    dialog.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("by ana")
    expect(row).to_contain_text("decay confirmed by hand")
    expect(row).to_have_attribute("data-open", "false")
    announcer = page.locator("#insights-announcer")
    expect(announcer).to_contain_text(f"Alert {recorded.alert_id} on {first} acknowledged by ana")

    # A rebalance and a new alert recorded elsewhere are announced on the next refresh.
    with create_store(learning_server.db) as store:
        store.allocations.record(
            state="infeasible",
            weights={},
            risk={},
            diff={},
            reason="the caps add up to less than 1: raise max_weight",
            settings={},
        )
        store.alerts.raise_alert(
            promotion_id=second, test="cusum", statistic=7.0, threshold=6.0, evidence={}
        )
    expect(announcer).to_contain_text(f"New overfitting alert on {second}: cusum 7 > 6.")
    infeasible = f"Rebalanced: snapshot {recorded.snapshot_id + 1} is infeasible: the caps add up"
    expect(announcer).to_contain_text(infeasible)
    expect(page.locator('#alerts-table tr[data-open="true"]')).to_have_count(1)

    # After a reload: the same tab, the theme, the acknowledgement.
    page.reload()
    expect_selected(page, "Overfitting")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(row).to_contain_text("by ana")
    expect(row.get_by_role("button")).to_have_count(0)
    shot(page, "insights-6-overfitting-dark")
    page.get_by_role("tab", name="Allocator").click()
    state = page.locator("#allocator-state")
    expect(state).to_have_attribute("data-state", "infeasible")
    expect(state).to_contain_text(f"still those of snapshot {recorded.snapshot_id}")
    open_alerts = httpx.get(f"{learning_server.url}/api/learning/overfit?open=true").json()
    assert [alert["promotion_id"] for alert in open_alerts] == [second]


def test_the_settings_form_shows_refusals_by_the_field_and_saves_whole(
    page: Page, learning_server: Server
) -> None:
    api = f"{learning_server.url}/api/settings/learning"
    before = httpx.get(api).json()
    page.goto("/ui/settings/learning")
    expect(page.locator("#settings-form")).to_have_attribute("aria-busy", "false")
    max_weight = page.locator("#setting-allocator-max-weight")
    expect(max_weight).to_have_value(str(before["allocator"]["max_weight"]))
    max_weight.fill("1.5")
    page.locator("#setting-monitor-confirm-bars").fill("3")
    page.get_by_role("button", name="Save settings").click()
    problem = page.locator("#setting-allocator-max-weight-error")
    expect(problem).to_contain_text("less than or equal to 1")
    expect(max_weight).to_have_attribute("aria-invalid", "true")
    expect(max_weight).to_be_focused()
    expect(page.locator("#settings-error")).to_contain_text("The stored settings are unchanged")
    assert httpx.get(api).json() == before
    shot(page, "insights-7-settings-refused")

    max_weight.fill("0.4")
    page.get_by_label("Auto-demote").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(problem).to_be_hidden()
    saved = httpx.get(api).json()
    assert saved["allocator"]["max_weight"] == 0.4
    assert saved["monitor"]["confirm_bars"] == 3 and saved["auto_demote"] is True
    assert {key: saved[key] for key in ("schedule", "search", "meta_model")} == {
        key: before[key] for key in ("schedule", "search", "meta_model")
    }


def test_the_virtual_fund_draws_its_equity_once_it_has_forward_returns(
    page: Page, learning_server: Server
) -> None:
    # The allocator's answer once forward returns exist: the real virtual fund's JSON.
    bars = pd.date_range("2026-01-05", periods=30, freq="B", tz="UTC")
    returns = pd.DataFrame({"s1": np.linspace(-0.01, 0.02, 30), "s2": 0.001}, index=bars)
    fund = virtual_fund({bars[0] - pd.Timedelta(days=3): {"s1": 0.6, "s2": 0.4}}, returns)
    answer = httpx.get(f"{learning_server.url}/api/learning/allocator").json()
    answer["fund"] = plain(fund.to_json(series=True))
    page.route("**/api/learning/allocator", lambda route: route.fulfill(json=answer))
    page.goto("/ui/insights#allocator")
    chart = page.locator("#fund-chart")
    expect(chart.locator(".main-svg").first).to_be_attached()
    assert chart.evaluate("c => c.data[0].y") == pytest.approx(fund.equity.tolist())
    expect(page.locator("#fund-empty")).to_be_hidden()
    total = f"{100 * (fund.equity.iloc[-1] - 1):.1f}%"
    expect(page.locator("#fund-facts")).to_contain_text(f"total return{total}")
    expect(page.locator("#fund-facts")).to_contain_text("bars30")


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own, whose store only this module's cycle test writes to."""
    started = Server(f"sqlite:///{tmp_path_factory.mktemp('cycle') / 'factory.db'}")
    yield started
    started.stop()


def test_the_cycle_and_rebalance_buttons_run_them_and_say_how_they_ended(
    insights_browser: Browser, empty_server: Server
) -> None:
    with dashboard_page(insights_browser, empty_server) as page:
        page.goto("/ui/insights#allocator")
        page.get_by_role("button", name="Rebalance now").click()
        status = page.locator("#rebalance-status")
        expect(status).to_contain_text("empty")
        expect(page.locator("#allocator-state")).to_contain_text(
            "no active promotion to allocate to"
        )
        page.get_by_role("button", name="Run learning cycle").click()
        cycle = page.locator("#cycle-status")
        expect(cycle).to_contain_text("Learning cycle 1 (api)")
        # The page follows the cycle on its refresh until it has ended.
        expect(cycle).to_contain_text("Learning cycle 1 (api): done")
        expect(cycle).to_contain_text("knowledge done")
        page.get_by_role("tab", name="Knowledge").click()
        expect(page.get_by_role("tabpanel", name="Knowledge")).to_contain_text(
            "No active promotion to track."
        )
    [ended] = httpx.get(f"{empty_server.url}/api/learning/cycles").json()
    assert ended["state"] == "done" and ended["trigger"] == "api"
