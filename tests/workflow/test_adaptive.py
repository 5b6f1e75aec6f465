"""The adaptive strategy: exact against the plain backtest, causal, and replay-exact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_factory.backtest import Execution, replay_weight_sets, simulate_config
from strategy_factory.data import BarCatalog, regime_autocorrelated_bars
from strategy_factory.evaluate import metrics_table
from strategy_factory.workflow import WorkflowConfig, create_workflow, run_workflow
from strategy_factory.workflow.adaptive import AdaptivePlan, run_adaptive
from strategy_factory.workflow.backtester import METRICS, Trial, family_predictions
from strategy_factory.workflow.bars import prepare_bars
from strategy_factory.workflow.config import Classifier, Family, WorkflowData
from strategy_factory.workflow.files import read_signals
from tests.workflow.conftest import small_workflow

EXECUTION = Execution(fee_bps=2, slippage_bps=1)
MOMENTUM = Family(name="momentum", kind="rule", rule="momentum")
REVERSION = Family(name="reversion", kind="rule", rule="mean_reversion")
PARAMS = {"lookback": 2, "threshold": 0.001, "z_limit": None, "mode": "long_short"}


def prepared(bars: pd.DataFrame):  # type: ignore[no-untyped-def]
    data = WorkflowData(symbol="PLANTED", selection_fraction=0.35, holdout_fraction=0.35)
    classifiers = {"regime_vol": Classifier(type="gmm", params={"n_regimes": 2})}
    return prepare_bars(bars, {}, data, classifiers)


BARS = regime_autocorrelated_bars(2000, seed=3)[0]
DATA = prepared(BARS)


def test_one_member_in_every_regime_equals_the_plain_backtest_of_that_member() -> None:
    plan = AdaptivePlan(
        "regime_vol",
        [("momentum", 0, PARAMS)],
        {"overall": np.ones(1), "0": np.ones(1), "1": np.ones(1)},
    )
    adaptive = run_adaptive(DATA, {"momentum": MOMENTUM}, plan, "holdout", EXECUTION)
    predictions = family_predictions(MOMENTUM, PARAMS, DATA)
    plain = simulate_config(
        DATA.market("holdout", predictions), Trial(0, PARAMS).strategy("PLANTED"), EXECUTION
    )
    assert np.array_equal(adaptive.detail.per_bar["position"], plain.per_bar["position"])
    assert np.array_equal(adaptive.detail.per_bar["equity"], plain.per_bar["equity"])
    assert np.array_equal(
        adaptive.detail.trades["return"].to_numpy(), plain.trades["return"].to_numpy()
    )


def _plan() -> AdaptivePlan:
    other = PARAMS | {"lookback": 5, "threshold": 0.5}
    return AdaptivePlan(
        "regime_vol",
        [("momentum", 0, PARAMS), ("reversion", 1, other)],
        {"overall": np.array([0.5, 0.5]), "0": np.array([1.0, 0.0]), "1": np.array([0.25, 0.75])},
    )


@settings(max_examples=15, deadline=None)
@given(cut=st.integers(min_value=1, max_value=600), seed=st.integers(0, 2**16))
def test_no_look_ahead_changing_bars_after_t_changes_nothing_up_to_t(cut: int, seed: int) -> None:
    # The holdout is the last 700 bars; perturb every bar after bar t of it.
    start = DATA.period("holdout").start
    t = start + cut
    noise = np.exp(np.random.default_rng(seed).normal(0, 0.05, len(BARS) - t - 1))
    changed = BARS.copy()
    for column in ("open", "high", "low", "close"):
        changed.iloc[t + 1 :, changed.columns.get_loc(column)] *= noise
    families = {"momentum": MOMENTUM, "reversion": REVERSION}
    before = run_adaptive(DATA, families, _plan(), "holdout", EXECUTION)
    after = run_adaptive(prepared(changed), families, _plan(), "holdout", EXECUTION)
    upto = slice(0, cut + 1)
    pd.testing.assert_frame_equal(before.detail.per_bar.iloc[upto], after.detail.per_bar.iloc[upto])
    pd.testing.assert_series_equal(before.in_force.iloc[upto], after.in_force.iloc[upto])
    assert np.array_equal(before.signals[upto], after.signals[upto])


def test_replaying_a_captured_trial_equals_rerunning_it_from_bars_to_the_last_bit(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    config = small_workflow()
    config["phases"] = config["phases"][:1]
    workspace = create_workflow(WorkflowConfig.load(config), tmp_path / "results")
    run_workflow(workspace)
    performance = json.loads(workspace.path("performance/parameter_discovery.json").read_text())
    folder = workspace.path("signals/parameter_discovery")
    prices = pd.read_parquet(folder / "prices.parquet").set_index("timestamp")
    execution = WorkflowConfig.load(config).costs.execution()
    for family in ("momentum", "reversion"):
        signals = read_signals(folder / family)
        records = performance["families"][family]["trials"]
        identity = np.eye(len(records))
        table = metrics_table(
            replay_weight_sets(prices, signals.to_numpy(dtype=np.int8), identity, execution)
        )
        for i, record in enumerate(records):
            for name in METRICS:
                if name == "calmar":
                    continue
                replayed, recorded = float(table.iloc[i][name]), record["overall"][name]
                assert (recorded is None and not np.isfinite(replayed)) or replayed == recorded, (
                    name,
                    replayed,
                    recorded,
                )
