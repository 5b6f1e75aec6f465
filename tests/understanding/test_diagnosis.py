"""The diagnosis finds where a planted edge lives, and nothing on a random walk.

The series (:func:`session_edge_bars`) has an edge only in hidden regime 1 and in the
session 13:00-15:00 UTC. The strategy trades the planted feature whenever it exceeds 1.5
standard deviations, everywhere; the diagnosis sees the real labelers' regimes (GMM,
HMM, trend, fitted on the first quarter) and the hidden regime as one more labeler.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy_factory.backtest import Execution, Market, StrategyConfig, simulate_config
from strategy_factory.data.synthetic_session import SessionEdge, session_edge_bars
from strategy_factory.features import build_feature_matrix, label_regimes, volatility_zscore
from strategy_factory.understanding.diagnosis import (
    Diagnosis,
    TradeInputs,
    diagnose_trades,
    verdict,
)

BARS = 80_000
WARM_UP = 300
FEATURES = ["rsi_14", "vol_z_60", "ema_ratio_200", "exo_planted"]


def diagnose_series(strength: float, seed: int, threshold: float = 1.5) -> Diagnosis:
    bars, hidden = session_edge_bars(BARS, seed, SessionEdge(strength=strength))
    features = build_feature_matrix(bars, None, FEATURES).iloc[WARM_UP:]
    regimes = label_regimes(bars, train_end=bars.index[BARS // 4])
    regimes["regime_hidden"] = hidden
    regimes = regimes.iloc[WARM_UP:]
    bars = bars.iloc[WARM_UP:]
    zscore = volatility_zscore(bars["close"].to_numpy())
    market = Market(
        "SYN",
        bars,
        pd.Series(bars["planted"].to_numpy(), index=bars.index),
        zscore=zscore,
        regimes=regimes,
    )
    detail = simulate_config(market, StrategyConfig("SYN", threshold), Execution())
    return diagnose_trades(detail, TradeInputs(regimes, zscore, features))


@pytest.fixture(scope="module")
def planted() -> Diagnosis:
    return diagnose_series(0.4, seed=10)


def named(diagnosis: Diagnosis) -> set[tuple[str, str]]:
    return {(row["split"], row["group"]) for row in diagnosis.significant_groups()}


def test_the_planted_regime_and_session_and_nothing_else(planted: Diagnosis) -> None:
    session = {("hour", f"{h}:00 UTC") for h in (13, 14, 15)}
    assert named(planted) == {("regime_hidden", "0"), ("regime_hidden", "1"), *session}
    better = {
        (row["split"], row["group"])
        for row in planted.significant_groups()
        if row["mean_return"] > row["rest_mean_return"]
    }
    assert better == {("regime_hidden", "1"), *session}
    assert planted.significant_features() == []


def test_the_verdict_says_it_in_sentences(planted: Diagnosis) -> None:
    text = " ".join(planted.verdict)
    for hour in (13, 14, 15):
        assert f"hour = {hour}:00 UTC: trades earn more than the rest" in text
    assert "regime_hidden = 1: trades earn more than the rest" in text
    assert f"5 of {planted.tests} tests pass Benjamini-Hochberg" in text
    for labeler in ("regime_gmm", "regime_hmm", "regime_trend", "weekday", "volatility", "side"):
        assert labeler not in text


def test_every_split_is_tested_and_corrected_together(planted: Diagnosis) -> None:
    splits = {row["split"] for row in planted.splits}
    # The HMM puts every bar of this series in one state: said, not tested.
    assert "regime_hmm: every trade is in 1, nothing to compare" in planted.notes
    assert {"regime_gmm", "regime_trend", "regime_hidden"} <= splits
    assert {"hour", "weekday", "volatility", "side", "holding"} <= splits
    assert len({row["group"] for row in planted.splits if row["split"] == "hour"}) == 24
    tested = [row for row in planted.splits if row["p_value"] is not None]
    tested += [row for row in planted.features if row["p_value"] is not None]
    assert planted.tests == len(tested)
    # BH never lowers a p-value, and the adjusted ones keep the raw ones' order.
    for row in tested:
        assert row["adjusted_p"] >= row["p_value"]


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_nothing_passes_on_a_random_walk(seed: int) -> None:
    diagnosis = diagnose_series(0.0, seed)
    assert diagnosis.trades > 5_000
    assert named(diagnosis) == set()
    assert diagnosis.significant_features() == []
    assert diagnosis.verdict[0].startswith("Nothing passes Benjamini-Hochberg correction")


def test_no_trade_is_said() -> None:
    diagnosis = diagnose_series(0.4, seed=10, threshold=50.0)
    assert diagnosis.trades == 0
    assert diagnosis.verdict == ["no closed trade in the period: nothing to diagnose."]


def test_too_few_trades_are_said_not_tested() -> None:
    diagnosis = diagnose_series(0.4, seed=10, threshold=3.6)
    assert 0 < diagnosis.trades < 60
    assert any("too few trades to test" in note for note in diagnosis.notes)
    hours = [row for row in diagnosis.splits if row["split"] == "hour"]
    assert hours and all(row["p_value"] is None for row in hours)


def test_groups_and_features_are_counted_from_the_trades(planted: Diagnosis) -> None:
    for split in ("side", "weekday", "hour"):
        rows = [row for row in planted.splits if row["split"] == split]
        assert sum(row["trades"] for row in rows) == planted.trades
        for row in rows:
            assert row["trades"] + row["rest_trades"] <= planted.trades
    assert np.isfinite([row["mean_return"] for row in planted.splits]).all()


def test_many_telling_features_are_named_in_one_sentence() -> None:
    rows = [
        {"feature": f"f{i}", "losers_median": 1.0, "winners_median": 0.0, "losers": 40,
         "winners": 40, "adjusted_p": 0.001 * (i + 1), "significant": True}
        for i in range(8)
    ]  # fmt: skip
    sentences = verdict([], rows, tests=8, trades=80)
    assert sentences[0].startswith("Before losing trades f0 is higher: median 1 against 0")
    assert sentences[5] == (
        "3 more features also differ before losing trades (correlated indicators often say "
        "one thing many times): f5, f6, f7."
    )
    assert sentences[-1] == "8 of 8 tests pass Benjamini-Hochberg correction at 5%."
