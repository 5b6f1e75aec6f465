"""The run report: self-contained, every chart present, and every number it shows equal to
the store (tables) or to an independent re-trade with ``strategy_detail`` (charts)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.errors import FactoryError
from strategy_factory.evolution import (
    Evolution,
    EvolveConfig,
    create_run,
    generations,
    report_strategy_charts,
    run_context,
)
from strategy_factory.evolution.promotion import strategy_of
from strategy_factory.evolution.report import write_report
from strategy_factory.evolution.report_data import gather_report
from strategy_factory.evolution.report_lineage_charts import lineage_figure, survival_figure
from strategy_factory.evolution.report_page import CHART_IDS
from strategy_factory.evolution.report_strategy_charts import display_positions, threshold_labels
from strategy_factory.execution import InlineExecutor, strategy_detail
from strategy_factory.models import model_from_bytes
from strategy_factory.store import Store, create_store
from strategy_factory.store.tables import simulation_results
from tests.report_pages import assert_self_contained, cells, figure, values

# A symbol no other test module uses: datasets are cached per process by their spec.
SYMBOL = "REPORTSYN"
FEATURES = ["exo_planted", "rsi_14", "ret_1", "ret_5", "vol_20", "macd", "bb_pos_20", "atr_14"]
# Loose enough for 3000 daily bars with a strong planted feature to promote.
LOOSE = {
    "criteria": {
        "sqn_100": [2, 20],
        "profit_factor": [1.2, 20],
        "trades": [30, 10_000],
        "weekly_consistency": None,
    },
    "min_dsr": 0.5,
}
CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class Lab:
    """A store with one run of each kind, and the promoted run's report."""

    root: Path
    env: dict[str, str]
    store: Store
    promoted: str
    judged: str
    failed: str
    pending: str
    page: str


def _evolve(store: Store, **fields: Any) -> str:
    created = create_run(store, EvolveConfig.load({"symbol": SYMBOL, **fields}))
    return Evolution(store, InlineExecutor()).run(created.id).id


class HostileExecutor(InlineExecutor):
    """Fails every training with a message full of markup."""

    def submit(self, kind: str, payload: dict[str, Any], priority: float | None = None) -> Any:
        raise RuntimeError("<script>alert(1)</script>")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("report")
    env = {"FACTORY_HOME": str(root / "home"), "FACTORY_DB": f"sqlite:///{root / 'factory.db'}"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        bars = synthetic_bars(3000, freq="1D", start="2000-01-01", seed=3, planted_strength=0.4)
        BarCatalog(root / "home" / "bars").save(SYMBOL, bars)
        store = create_store()
        promoted = _evolve(
            store, seed_features=FEATURES, max_generations=3, early_stop=False, **LOOSE
        )
        judged = _evolve(store, seed_features=FEATURES, max_generations=2)
        # The engine records the failure (with its user-visible text) on the run, then
        # re-raises it.
        # (Lasso: a model no earlier run trained, so the failure comes before any model.)
        doomed = create_run(
            store, EvolveConfig(symbol=SYMBOL, seed_features=FEATURES, algorithm="Lasso")
        )
        with pytest.raises(RuntimeError, match="alert"):
            Evolution(store, HostileExecutor()).run(doomed.id)
        failed = doomed.id
        pending = create_run(store, EvolveConfig(symbol=SYMBOL, seed_features=FEATURES)).id
        page = write_report(store, promoted, root / "promoted.html").read_text()
        yield Lab(root, env, store, promoted, judged, failed, pending, page)


def trace(data: list[dict[str, Any]], name: str, xaxis: str = "x") -> dict[str, Any]:
    (found,) = [t for t in data if t.get("name") == name and t.get("xaxis", "x") == xaxis]
    return found


def utc(times: Any) -> pd.DatetimeIndex:
    """Timestamps as naive UTC nanoseconds, however they were given."""
    index = pd.DatetimeIndex(times)
    return (index if index.tz is None else index.tz_convert(None)).as_unit("ns")


def number(text: str) -> float | None:
    return None if text == "" else float(text)


def report_of(lab: Lab, run_id: str) -> str:
    return write_report(lab.store, run_id, lab.root / f"{run_id}.html").read_text()


def test_the_report_is_self_contained(lab: Lab) -> None:
    assert_self_contained(lab.page)


def test_a_cdn_report_loads_plotly_from_its_cdn_and_nothing_else(lab: Lab) -> None:
    path = write_report(lab.store, lab.promoted, lab.root / "cdn.html", plotly="cdn")
    page = path.read_text()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.DOTALL)
    assert not [body for _, body in scripts if "plotly.js v" in body[:200]]
    sources = [re.search(r'src="([^"]+)"', tag) for tag, _ in scripts]
    version = plotly.offline.get_plotlyjs_version()
    assert [m.group(1) for m in sources if m] == [f"https://cdn.plot.ly/plotly-{version}.min.js"]
    assert 'integrity="sha256-' in page
    for div_id in CHART_IDS:
        assert f'id="{div_id}"' in page
    assert "the charts need the network" in page
    full = (lab.root / "promoted.html").stat().st_size
    assert path.stat().st_size < full - 4_500_000
    with pytest.raises(FactoryError, match="plotly must be one of full, cdn, not 'partial'"):
        write_report(lab.store, lab.promoted, lab.root / "partial.html", plotly="partial")


def test_every_chart_is_there_with_its_title(lab: Lab) -> None:
    titles = {
        "equity-chart": "Equity and drawdown",
        "trades-chart": "Trades on price",
        "lineage-chart": "Lineage",
        "features-chart": "Features per generation",
        "survival-chart": "Feature survival",
        "sqn-heatmap": "max over regime filters, tickers and modes",
    }
    assert set(titles) == set(CHART_IDS)
    for div_id, title in titles.items():
        assert f'<div id="{div_id}"' in lab.page
        data, layout = figure(lab.page, div_id)
        assert data and title in layout["title"]["text"]


def test_tables_show_the_numbers_of_the_store(lab: Lab) -> None:
    run = lab.store.runs.get(lab.promoted)
    shown = {
        (c["data-generation"], c["data-field"]): number(c["data-value"])
        for c in cells(lab.page)
        if "data-generation" in c
    }
    recorded = generations(lab.store, lab.promoted)
    assert [g["generation"] for g in recorded] == [0, 1, 2]
    assert any(g["state"] == "judged" for g in recorded)
    for g in recorded:
        key = str(g["generation"])
        assert shown[key, "features"] == len(g["remaining_features"])
        if g["state"] != "judged":  # e.g. it predicts what its parent does: not simulated
            assert g["note"] and g["note"].split("'")[-1] in lab.page
            continue
        assert shown[key, "selection_sqn_100"] == pytest.approx(
            g["best_selection"]["sqn_100"], rel=1e-15
        )
        assert shown[key, "holdout_dsr"] == pytest.approx(g["holdout"]["metrics"]["dsr"], rel=1e-15)
    promotion = lab.store.promoted.get(run.promotion_id)
    criteria = {
        c["data-criterion"]: number(c["data-value"])
        for c in cells(lab.page)
        if "data-criterion" in c
    }
    assert criteria == {
        r["metric"]: pytest.approx(r["value"]) for r in promotion.verdict["results"]
    }
    assert criteria["dsr"] == pytest.approx(promotion.dsr)
    assert f'data-value="{run.configurations_tried}"' in lab.page
    assert 'class="verdict promoted"' in lab.page


def _retrade(lab: Lab, run_id: str, row: dict[str, Any], model_id: str) -> dict[str, Any]:
    """The strategy of ``row`` traded independently of the report, per period."""
    context = run_context(lab.store.runs.get(run_id))
    model = model_from_bytes(lab.store.models.artifact(model_id))
    execution = context.config.strategy.execution()
    return {
        period: strategy_detail(context.dataset, model, strategy_of(row), execution, period)[0]
        for period in ("selection", "holdout")
    }


def test_equity_drawdown_and_trades_are_the_strategy_detail(lab: Lab) -> None:
    promotion = lab.store.promoted.recent(run_id=lab.promoted)[0]
    detail = _retrade(lab, lab.promoted, promotion.strategy, promotion.model_id)
    equity, _ = figure(lab.page, "equity-chart")
    prices, _ = figure(lab.page, "trades-chart")
    # Equity above drawdown, selection left of holdout; trades: holdout above selection.
    axes = (("selection", "x", "x3", "x2"), ("holdout", "x2", "x4", "x"))
    for period, axis, drawdown_axis, price_axis in axes:
        expected = detail[period].equity
        drawn = trace(equity, "strategy equity", axis)
        assert utc(drawn["x"]).equals(utc(expected.index))
        np.testing.assert_allclose(values(drawn["y"]), expected.to_numpy(), rtol=1e-12)
        peak = np.maximum.accumulate(expected.to_numpy())
        np.testing.assert_allclose(
            values(trace(equity, "drawdown", drawdown_axis)["y"]),
            expected.to_numpy() / peak - 1,
            atol=1e-12,
        )
        trades = detail[period].trades
        for name, direction in (("long entry", 1), ("short entry", -1)):
            chosen = trades[trades["direction"] == direction]
            marks = trace(prices, name, price_axis)
            assert utc(marks["x"]).equals(utc(chosen["entry_time"]))
            np.testing.assert_allclose(values(marks["y"]), chosen["entry_price"].to_numpy())
    assert len(detail["holdout"].trades) == promotion.holdout_metrics["trades"]


def test_sqn_heatmap_is_the_max_over_the_other_grid_axes(lab: Lab) -> None:
    promotion = lab.store.promoted.recent(run_id=lab.promoted)[0]
    results = lab.store.simulations.top(lab.promoted, model_id=promotion.model_id, limit=10_000)
    best: dict[tuple[str, float], float] = {}
    for r in results:
        key = ("none" if r.z_limit is None else f"{r.z_limit:g}", r.threshold)
        if r.sqn is not None:
            best[key] = max(best.get(key, -np.inf), r.sqn)
    data, _ = figure(lab.page, "sqn-heatmap")
    heat = data[0]
    thresholds = sorted({r.threshold for r in results})
    assert heat["x"] == threshold_labels(thresholds)
    grid = values(heat["z"])
    for i, z in enumerate(heat["y"]):
        for j, threshold in enumerate(thresholds):
            assert grid[i, j] == pytest.approx(best.get((z, threshold), np.nan), nan_ok=True)


def test_lineage_and_feature_survival_follow_the_lineage_log(lab: Lab) -> None:
    edges = lab.store.lineage.of_run(lab.promoted)
    data, _ = figure(lab.page, "lineage-chart")
    hover = trace(data, "pruned features")["hovertext"]
    assert len(hover) == len(edges) - 1
    for text, edge in zip(hover, edges[1:], strict=True):
        assert all(name in text for name in edge.pruned_features)
    survival, _ = figure(lab.page, "survival-chart")
    kept = values(survival[0]["z"])
    for column, edge in enumerate(edges):
        alive = {name for name, k in zip(survival[0]["y"], kept[:, column], strict=True) if k}
        assert alive == set(edge.remaining_features)


def test_a_run_that_was_not_promoted_shows_its_judged_configuration(lab: Lab) -> None:
    report = gather_report(lab.store, lab.judged)
    run = lab.store.runs.get(lab.judged)
    assert not run.promoted and report.best is not None
    (judged,) = lab.store.simulations.top(lab.judged, model_id=run.best_model_id, period="holdout")
    assert report.best.config == strategy_of(asdict(judged))
    assert report.best.mismatches == []  # re-trading reproduces the recorded results
    for traded in (report.best.selection, report.best.holdout):
        assert traded.stored is not None
        assert traded.stored["trades"] == traded.metrics["trades"]
        assert traded.stored["sqn"] == pytest.approx(traded.metrics["sqn"], rel=1e-9)
    assert report.best.holdout.metrics["trades"] == judged.trades
    assert not report.best.verdict.passed
    page = report_of(lab, lab.judged)
    assert "not promoted" in page and "for information only" in page
    criteria = {c["data-criterion"] for c in cells(page) if "data-criterion" in c}
    assert criteria == {"sqn_100", "profit_factor", "trades", "weekly_consistency", "dsr"}


def test_a_report_says_when_re_trading_differs_from_the_record(lab: Lab) -> None:
    copy = lab.root / "altered.db"
    # The backup API copies what the write-ahead log holds too.
    source, target = sqlite3.connect(lab.root / "factory.db"), sqlite3.connect(copy)
    with closing(source), closing(target):
        source.backup(target)
    store = create_store(f"sqlite:///{copy}")
    run = store.runs.get(lab.judged)
    (judged,) = store.simulations.top(lab.judged, model_id=run.best_model_id, period="holdout")
    with store.database.write() as connection:
        connection.execute(
            update(simulation_results)
            .where(simulation_results.c.id == judged.id)
            .values(metrics={**judged.metrics, "trades": judged.trades + 1})
        )
    page = write_report(store, lab.judged, lab.root / "altered.html").read_text()
    assert (
        f"re-trading the holdout period gives trades {judged.trades}, but the run recorded "
        f"{judged.trades + 1}: the bars changed since the run"
    ) in page


def test_long_periods_are_thinned_but_keep_the_deepest_drawdown(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_strategy_charts, "MAX_POINTS", 100)
    run = lab.store.runs.get(lab.judged)
    (judged,) = lab.store.simulations.top(lab.judged, model_id=run.best_model_id, period="holdout")
    detail = _retrade(lab, lab.judged, asdict(judged), run.best_model_id)
    page = report_of(lab, lab.judged)
    equity, layout = figure(page, "equity-chart")
    titles = " ".join(a["text"] for a in layout["annotations"])
    for period, axis in (("selection", "x"), ("holdout", "x2")):
        expected = detail[period].equity
        drawn = trace(equity, "strategy equity", axis)
        positions = utc(expected.index).get_indexer(utc(drawn["x"]))
        assert len(positions) <= 102 < len(expected) and (positions >= 0).all()
        np.testing.assert_allclose(values(drawn["y"]), expected.to_numpy()[positions], rtol=1e-12)
        deepest = np.argmin(expected.to_numpy() / np.maximum.accumulate(expected.to_numpy()))
        assert {0, deepest, len(expected) - 1} <= set(positions.tolist())
        step = -(-len(expected) // 100)
        assert set(range(0, len(expected), step)) <= set(positions.tolist())
        assert f"every {step}th of {len(expected):,} bars drawn" in titles


def test_user_text_is_escaped_and_a_failed_run_still_gets_a_report(lab: Lab) -> None:
    run = lab.store.runs.get(lab.failed)
    assert run.status == "failed" and "<script>alert(1)</script>" in run.error
    page = report_of(lab, lab.failed)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page  # nothing to chart, so no script at all
    assert 'id="run-status">failed<' in page and "No model was trained." in page


def test_charts_escape_feature_names() -> None:
    name = "<img src=x onerror=alert(1)>"
    rows = [
        {
            "generation": g,
            "model_id": f"m{g}",
            "parent_model_id": None if g == 0 else f"m{g - 1}",
            "features": 2 - g,
            "remaining_features": [name, "ret_1"][g:],
            "pruned_features": [] if g == 0 else [name],
            "best_selection": None,
            "holdout": None,
        }
        for g in (0, 1)
    ]
    for chart in (lineage_figure(rows, None), survival_figure(rows)):
        embedded = chart.to_json()
        assert "&lt;img src=x onerror=alert(1)&gt;" in embedded
        assert "<img" not in embedded and "\\u003cimg" not in embedded


def test_a_pending_run_reports_its_recorded_periods(lab: Lab) -> None:
    page = report_of(lab, lab.pending)
    periods = lab.store.runs.get(lab.pending).config["periods"]
    assert 'id="run-status">pending<' in page and "No model was trained." in page
    shown = {c["data-period"]: number(c["data-value"]) for c in cells(page) if "data-period" in c}
    # The periods recorded when the run was created, bar counts included.
    assert shown == {name: periods[name]["bars"] for name in ("training", "selection", "holdout")}


@given(st.integers(1, 5000), st.integers(2, 300), st.lists(st.integers(0, 4999), max_size=5))
def test_drawn_positions_keep_the_ends_and_the_marked_bars(
    n: int, limit: int, keep: list[int]
) -> None:
    keep = [k for k in keep if k < n]
    shown = display_positions(n, keep, limit)
    assert np.all(np.diff(shown) > 0) and shown[0] == 0 and shown[-1] == n - 1
    assert set(keep) <= set(shown.tolist())
    assert len(shown) <= limit + len(keep) + 1 if n > limit else len(shown) == n


@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=20, unique=True))
def test_distinct_thresholds_get_distinct_labels(thresholds: list[float]) -> None:
    labels = threshold_labels(thresholds)
    assert len(set(labels)) == len(thresholds)


def factory(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from strategy_factory.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **lab.env},
        cwd=lab.root,
    )


def test_cli_writes_the_report(lab: Lab) -> None:
    out = lab.root / "cli.html"
    result = factory(lab, "report", lab.promoted, "-o", str(out), "--db", lab.env["FACTORY_DB"])
    assert result.returncode == 0, result.stderr
    assert "cli.html" in result.stdout
    assert 'id="equity-chart"' in out.read_text()


def test_cli_writes_a_cdn_report_on_request(lab: Lab) -> None:
    out = lab.root / "cli-cdn.html"
    db = ["--db", lab.env["FACTORY_DB"]]
    result = factory(lab, "report", lab.promoted, "-o", str(out), "--plotly", "cdn", *db)
    assert result.returncode == 0, result.stderr
    assert "load Plotly from the network" in result.stdout
    assert "cdn.plot.ly" in out.read_text()
    refused = factory(lab, "report", lab.promoted, "--plotly", "partial", *db)
    assert refused.returncode == 2 and "--plotly is full or cdn" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_cli_unknown_run_exits_2_without_traceback(lab: Lab) -> None:
    result = factory(lab, "report", "nope")
    assert result.returncode == 2
    assert "no evolution run 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_a_missing_output_folder_is_a_clear_error(lab: Lab) -> None:
    with pytest.raises(FactoryError, match=r"folder .*missing does not exist"):
        write_report(lab.store, lab.judged, lab.root / "missing" / "report.html")
    assert not (lab.root / "missing").exists()


@pytest.mark.browser
def test_chromium_draws_every_chart_offline(lab: Lab) -> None:
    if not CHROMIUM.exists() and os.environ.get("FACTORY_REQUIRE_BROWSER") != "1":
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    path = lab.root / "promoted.html"
    requested, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri(), wait_until="load")
        drawn = page.evaluate(
            """ids => ids.map(id => {
                const div = document.getElementById(id);
                return [id, div.querySelectorAll('.main-svg').length, div._fullData.length];
            })""",
            list(CHART_IDS),
        )
        browser.close()
    assert errors == []
    assert requested == [path.as_uri()]  # the page fetched nothing else
    for div_id, svgs, traces in drawn:
        assert svgs > 0 and traces > 0, div_id
