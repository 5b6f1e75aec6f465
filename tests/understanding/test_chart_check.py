"""Visual validation of the run report in Debian's headless Chromium: a clean report's
drawn markers and equity match the stored trades; markers shifted by one bar (or a
marker removed) in the page's data are caught; the checks and screenshots are attached
to the report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from strategy_factory.cli import app
from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.evolution.report_page import CHART_IDS
from strategy_factory.execution import InlineExecutor
from strategy_factory.store import Store, create_store
from strategy_factory.understanding.chart_report import validate_report
from tests.report_pages import chart_ids

CHROMIUM = Path("/usr/bin/chromium")
SYMBOL = "CHARTSYN"
FEATURES = ["exo_planted", "rsi_14", "ret_1", "ret_5", "vol_20", "macd"]
LOOSE = {
    "criteria": {
        "sqn_100": [2, 20],
        "profit_factor": [1.2, 20],
        "trades": [30, 10_000],
        "weekly_consistency": None,
    },
    "min_dsr": 0.5,
}
# Moves every marker of one trace to the next bar of the close line drawn beside it.
SHIFT = """async ([name, axis]) => {
  const gd = document.getElementById("trades-chart");
  const index = gd._fullData.findIndex(t => t.name === name && t.xaxis === axis);
  const close = gd._fullData.find(t => t.name === "close" && t.xaxis === axis);
  const times = Array.from(close.x, String);
  const markers = Array.from(gd._fullData[index].x, String);
  const shifted = markers.map(x => times[times.indexOf(x) + 1]);
  await Plotly.restyle(gd, { x: [shifted] }, [gd._fullData[index].index]);
  return markers.filter((x, i) => shifted[i] !== undefined && shifted[i] !== x).length;
}"""
DROP = """async ([name, axis]) => {
  const gd = document.getElementById("trades-chart");
  const trace = gd._fullData.find(t => t.name === name && t.xaxis === axis);
  const x = Array.from(trace.x).slice(1), y = Array.from(trace.y).slice(1);
  await Plotly.restyle(gd, { x: [x], y: [y] }, [trace.index]);
  return 1;
}"""

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Lab:
    root: Path
    store: Store
    run_id: str


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    root = tmp_path_factory.mktemp("charts")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORY_HOME", str(root / "home"))
        patch.setenv("FACTORY_DB", f"sqlite:///{root / 'factory.db'}")
        bars = synthetic_bars(3000, freq="1D", start="2000-01-01", seed=3, planted_strength=0.4)
        BarCatalog(root / "home" / "bars").save(SYMBOL, bars)
        store = create_store()
        config = EvolveConfig.load(
            {"symbol": SYMBOL, "seed_features": FEATURES, "max_generations": 2, **LOOSE}
        )
        run = Evolution(store, InlineExecutor()).run(create_run(store, config).id)
        yield Lab(root, store, run.id)


def test_a_clean_report_passes_with_its_screenshots_attached(lab: Lab) -> None:
    path = lab.root / "clean.html"
    validation = validate_report(lab.store, lab.run_id, path, CHROMIUM)
    assert validation.passed, validation.verdict()
    by_what = {check.what: check for check in validation.checks}
    for period in ("selection", "holdout"):
        assert by_what[f"{period} · equity line"].drawn > 100
        stored = by_what[f"{period} · entries drawn vs trades stored by the run"]
        assert stored.drawn == stored.expected > 0
        assert f"{period} · last equity point vs return stored by the run" in by_what
    page = path.read_text()
    section = page[page.index('<section id="visual-validation">') :]
    assert f"all {len(validation.checks)} chart checks passed" in section
    assert len(re.findall(r'src="data:image/png;base64,', section)) == 2
    assert 'data-passed="false"' not in section
    for shot in validation.screenshots:
        assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert chart_ids(page) == list(CHART_IDS)  # the report itself is intact


@pytest.mark.parametrize(
    ("tamper", "trace", "axis", "failed", "detail"),
    [
        (SHIFT, "long entry", "x", "holdout · long entry markers", "drawn at the wrong time"),
        (SHIFT, "short exit", "x2", "selection · short exit markers", "drawn at the wrong time"),
        (DROP, "long entry", "x2", "selection · long entry markers", "points drawn"),
    ],
    ids=["shift-holdout-long-entries", "shift-selection-short-exits", "drop-one-entry"],
)
def test_tampered_markers_in_the_page_are_caught(
    lab: Lab, tamper: str, trace: str, axis: str, failed: str, detail: str
) -> None:
    moved: list[int] = []
    path = lab.root / "tampered.html"
    validation = validate_report(
        lab.store,
        lab.run_id,
        path,
        CHROMIUM,
        before_reading=lambda page: moved.append(page.evaluate(tamper, [trace, axis])),
    )
    assert moved[0] > 0
    assert not validation.passed
    failures = [check for check in validation.checks if not check.passed]
    assert failed in {check.what for check in failures}
    assert detail in next(c.detail for c in failures if c.what == failed)
    assert "chart checks FAILED" in validation.verdict()
    assert 'data-passed="false"' in path.read_text()


def test_the_command_validates_a_report(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORY_HOME", str(lab.root / "home"))
    target = lab.root / "cli.html"
    db = f"sqlite:///{lab.root / 'factory.db'}"
    done = CliRunner().invoke(
        app, ["report", lab.run_id, "--validate", "-o", str(target), "--db", db]
    )
    assert done.exit_code == 0, done.output
    assert "chart checks passed" in done.output and target.exists()
