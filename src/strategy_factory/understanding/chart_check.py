"""Visual validation: what the report's charts draw, read back from a real browser.

The run report is opened in headless Chromium (Playwright, the executable at
``FACTORY_CHROMIUM``); once Plotly has drawn it, the data of each chart is read from the
page (``gd._fullData``: what Plotly actually plots, after its own parsing), never from
pixels. The trade markers are compared, period by period and side by side, with the
trades of the strategy re-traded from the stored model (times and fill prices) and their
count with the trade count the run stored; the equity line with the re-traded equity at
every point drawn and its last point with the stored total return. The equity curves'
anomalies are flagged (:mod:`.equity_anomalies`), and screenshots of the charts are
attached to the report (:mod:`.chart_report`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from strategy_factory.errors import FactoryError
from strategy_factory.evolution.report_data import RunReport, TradedPeriod
from strategy_factory.evolution.report_strategy_charts import display_positions, drawdown
from strategy_factory.understanding.equity_anomalies import AnomalyBounds, equity_anomalies

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from strategy_factory.understanding.equity_anomalies import Anomaly

CHECKED = ("equity-chart", "trades-chart")
# Rows of the trades chart and columns of the equity chart, by Plotly axis name.
TRADE_AXES = {"x": "holdout", "x2": "selection"}
EQUITY_AXES = {"x": "selection", "x2": "holdout"}
PRICE_TOLERANCE = 1e-9
# Re-trading must reproduce the run's stored return to the report's own tolerance.
RETURN_TOLERANCE = 1e-6
DRAWN_CEILING_MS = 120_000
_READ = """ids => Object.fromEntries(ids.map(id => {
  const gd = document.getElementById(id);
  const traces = (gd && gd._fullData) || [];
  return [id, traces.map(t => ({
    name: t.name, xaxis: t.xaxis,
    x: Array.from(t.x || [], String), y: Array.from(t.y || [], Number),
  }))];
}))"""
_DRAWN = """ids => ids.every(id => {
  const gd = document.getElementById(id);
  return gd && gd._fullData && gd.querySelector('.main-svg');
})"""


@dataclass(frozen=True)
class ChartCheck:
    """One comparison of what a chart draws with what the store and re-trade say."""

    chart: str
    what: str
    passed: bool
    expected: int
    drawn: int
    detail: str


@dataclass(frozen=True)
class RenderedCharts:
    """The data each checked chart drew, and a screenshot of each (PNG bytes)."""

    traces: dict[str, list[dict[str, Any]]]
    screenshots: dict[str, bytes]


def render_and_read(
    page_path: Path,
    chromium: Path,
    before_reading: Callable[[Page], object] | None = None,
) -> RenderedCharts:
    """Open the report at ``page_path`` in headless Chromium, wait until its charts are
    drawn, and read their data and screenshots. ``before_reading(page)`` runs first (a
    test uses it to tamper with the drawn data)."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise FactoryError(
            "chart validation needs Playwright: pip install 'strategy-factory[charts]'"
        ) from None
    if not chromium.exists():
        raise FactoryError(f"no Chromium at {chromium}: install it or set FACTORY_CHROMIUM")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=str(chromium), args=["--headless=new", "--no-sandbox"]
            )
        except Error as exc:
            raise FactoryError(f"Chromium at {chromium} did not start: {exc.message}") from exc
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            page.wait_for_function(_DRAWN, arg=list(CHECKED), timeout=DRAWN_CEILING_MS)
            if before_reading is not None:
                before_reading(page)
            traces = page.evaluate(_READ, list(CHECKED))
            shots = {name: page.locator(f"#{name}").screenshot() for name in CHECKED}
        finally:
            browser.close()
    return RenderedCharts(traces, shots)


def compare(report: RunReport, traces: dict[str, list[dict[str, Any]]]) -> list[ChartCheck]:
    """Every check of the drawn trade markers and equity against the re-trade and store."""
    best = report.best
    if best is None:
        raise FactoryError(f"run {report.run.id} has no strategy to chart: nothing to validate")
    periods = {"selection": best.selection, "holdout": best.holdout}
    checks = []
    for axis, period in TRADE_AXES.items():
        drawn = [t for t in traces.get("trades-chart", []) if t["xaxis"] == axis]
        checks += _marker_checks(periods[period], drawn)
    for axis, period in EQUITY_AXES.items():
        drawn = [t for t in traces.get("equity-chart", []) if t["xaxis"] == axis]
        checks += _equity_checks(periods[period], drawn)
    return checks


def anomalies(report: RunReport, bounds: AnomalyBounds | None = None) -> list[Anomaly]:
    """The anomalies of both periods' equity curves."""
    if report.best is None:
        return []
    return [
        *equity_anomalies(report.best.selection.detail.equity, "selection", bounds),
        *equity_anomalies(report.best.holdout.detail.equity, "holdout", bounds),
    ]


def _marker_checks(traded: TradedPeriod, drawn: list[dict[str, Any]]) -> list[ChartCheck]:
    trades = traded.detail.trades
    checks = []
    count = 0
    for direction, side in ((1, "long"), (-1, "short")):
        chosen = trades[(trades["direction"] == direction).to_numpy()]
        for what, time_column, price_column in (
            ("entry", "entry_time", "entry_price"),
            ("exit", "exit_time", "exit_price"),
        ):
            name = f"{side} {what}"
            found = [t for t in drawn if t["name"] == name]
            trace = found[0] if found else {"x": [], "y": []}
            count += len(trace["x"]) if what == "entry" else 0
            checks.append(
                points_check(
                    f"{traded.period} · {name} markers",
                    pd.DatetimeIndex(chosen[time_column]),
                    chosen[price_column].to_numpy(dtype=np.float64),
                    trace,
                    "the trade's",
                )
            )
    if traded.stored is None or traded.stored.get("trades") is None:
        checks.append(
            ChartCheck(
                "trades-chart",
                f"{traded.period} · entries drawn vs trades stored by the run",
                True,
                0,
                count,
                "not compared: the run stored no result for this configuration and period, "
                "so the markers are checked against the re-trade only",
            )
        )
    else:
        stored = int(traded.stored["trades"])
        checks.append(
            ChartCheck(
                "trades-chart",
                f"{traded.period} · entries drawn vs trades stored by the run",
                count == stored,
                stored,
                count,
                f"{count} entry markers drawn, the run stored {stored} trades",
            )
        )
    return checks


def _equity_checks(traded: TradedPeriod, drawn: list[dict[str, Any]]) -> list[ChartCheck]:
    equity = traded.detail.equity
    shown = display_positions(len(equity), [int(np.argmin(drawdown(equity).to_numpy()))])
    found = [t for t in drawn if t["name"] == "strategy equity"]
    trace = found[0] if found else {"x": [], "y": []}
    checks = [
        points_check(
            f"{traded.period} · equity line",
            pd.DatetimeIndex(equity.index[shown]),
            equity.to_numpy(dtype=np.float64)[shown],
            trace,
            "the re-traded",
            chart="equity-chart",
        )
    ]
    stored = (traded.stored or {}).get("total_return")
    if stored is not None and trace["y"]:
        last = float(trace["y"][-1])
        checks.append(
            ChartCheck(
                "equity-chart",
                f"{traded.period} · last equity point vs return stored by the run",
                bool(np.isclose(last - 1.0, float(stored), rtol=RETURN_TOLERANCE, atol=1e-12)),
                1,
                1,
                f"drawn equity ends at {last:.8g}; the run stored a total return of "
                f"{float(stored):.8g}",
            )
        )
    return checks


def points_check(
    what: str,
    times: pd.DatetimeIndex,
    values: np.ndarray,
    trace: dict[str, Any],
    source: str,
    chart: str = "trades-chart",
) -> ChartCheck:
    """Do the drawn points (``trace``: ``x`` times, ``y`` values as read from the page) sit
    at ``times`` with ``values``, one for one? ``source`` names where the expected points
    come from, in the detail of a failure."""
    expected = _naive_ns(times)
    drawn_times = _naive_ns(pd.DatetimeIndex(pd.to_datetime(trace["x"])))
    drawn_values = np.asarray(trace["y"], dtype=np.float64)
    if len(drawn_times) != len(expected):
        detail = f"{len(drawn_times)} points drawn, {len(expected)} expected"
        return ChartCheck(chart, what, False, len(expected), len(drawn_times), detail)
    moved = np.flatnonzero(drawn_times != expected)
    if moved.size:
        at = int(moved[0])
        detail = (
            f"{moved.size} points drawn at the wrong time, the first at "
            f"{pd.Timestamp(drawn_times[at])} where {source} time is {pd.Timestamp(expected[at])}"
        )
        return ChartCheck(chart, what, False, len(expected), len(drawn_times), detail)
    off = np.flatnonzero(~np.isclose(drawn_values, values, rtol=PRICE_TOLERANCE, atol=0.0))
    if off.size:
        at = int(off[0])
        detail = (
            f"{off.size} points drawn at the wrong value, the first {drawn_values[at]:.8g} "
            f"where {source} value is {values[at]:.8g}"
        )
        return ChartCheck(chart, what, False, len(expected), len(drawn_times), detail)
    return ChartCheck(chart, what, True, len(expected), len(drawn_times), "all points match")


def _naive_ns(times: pd.DatetimeIndex) -> np.ndarray:
    """Timestamps as naive UTC nanoseconds (the charts draw naive UTC)."""
    index = times if times.tz is None else times.tz_convert(None)
    return index.as_unit("ns").asi8
