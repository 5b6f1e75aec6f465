"""The overfitting monitor: its CUSUM and threshold against simulation and a hand example,
false alarms on strategies that keep their promise, and detection of a decayed edge."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from strategy_factory.errors import FactoryError
from strategy_factory.learning.monitor import (
    MonitorSettings,
    Promise,
    average_run_length,
    cusum_threshold,
    lower_cusum,
    monitor,
)

DAILY_SHARPE_2 = 2 / math.sqrt(252)  # per-bar Sharpe of an annual Sharpe of 2 on daily bars
ARL_1000 = MonitorSettings(arl_years=1000 / 252)  # an in-control ARL of 1000 daily bars


def test_lower_cusum_is_the_recursion() -> None:
    increments = np.random.default_rng(0).normal(-0.1, 1, (3, 500))
    expected = np.zeros_like(increments)
    for row in range(3):
        level = 0.0
        for t, x in enumerate(increments[row]):
            level = max(0.0, level + x)
            expected[row, t] = level
    np.testing.assert_allclose(lower_cusum(increments), expected, atol=1e-12)


@pytest.mark.parametrize(("allowance", "arl"), [(0.25, 200), (0.5, 100)])
def test_the_threshold_gives_the_target_run_length_in_simulation(
    allowance: float, arl: float
) -> None:
    """Siegmund's approximation against the mean first passage of simulated N(0,1) bars."""
    threshold = cusum_threshold(allowance, arl)
    assert average_run_length(-allowance, threshold) == pytest.approx(arl, rel=1e-8)
    horizon = int(arl * 12)  # P(no alarm by then) ≈ e^-12
    paths = lower_cusum(np.random.default_rng(1).normal(0, 1, (1_000, horizon)) - allowance)
    above = paths > threshold
    assert above.any(axis=1).all()
    run_lengths = above.argmax(axis=1) + 1
    standard_error = run_lengths.std() / math.sqrt(len(run_lengths))
    assert abs(run_lengths.mean() - arl) < 3 * standard_error + 0.03 * arl


def test_a_hand_computed_path() -> None:
    """Promise 1% ± 1% a bar, decay 1: k = 0.5, z = (0.01 - r) / 0.01."""
    promise = Promise(mean=0.01, std=0.01, bars=100)
    forward = [0.01, -0.01, -0.02, 0.03, 0.0] + [0.01] * 20
    settings = MonitorSettings(min_forward_bars=5, arl_years=100)
    result = monitor(promise, forward, settings, periods_per_year=1)  # an ARL of 100 bars
    # z: 0, 2, 3, -2, 1, then 0s; S: 0, 1.5, 4, 1.5, 2, then down by 0.5 a bar to 0
    np.testing.assert_allclose(
        result.path.to_numpy()[:9], [0, 1.5, 4, 1.5, 2, 1.5, 1, 0.5, 0], atol=1e-12
    )
    assert result.allowance == 0.5
    assert result.threshold == pytest.approx(cusum_threshold(0.5, 100))
    assert 2 < result.threshold < 4  # crossed at bar 2 only (S = 4)
    assert (result.state, result.crossed_at, result.flagged_at) == ("flagged", 2, 2)
    assert result.statistic == pytest.approx(0.0, abs=1e-12)  # flags are kept once raised


def test_false_alarms_on_strategies_that_keep_their_promise_stay_within_the_arl_bound() -> None:
    """Holdout and forward from one process; the promise estimated from 500 holdout bars.

    A run length of mean 1000 alarms within n bars with probability about 1 - e^(-n/1000)
    ≤ n/1000 (measured ~0.19 at n = 250 in bench_monitor); the bound allows 3 standard
    errors of the simulation on top.
    """
    rng = np.random.default_rng(2)
    strategies, bars = 400, 250
    alarms = 0
    for _ in range(strategies):
        promise = Promise.from_holdout(rng.normal(DAILY_SHARPE_2, 1, 500))
        alarms += monitor(promise, rng.normal(DAILY_SHARPE_2, 1, bars), ARL_1000).flagged
    bound = bars / 1000
    assert alarms / strategies <= bound + 3 * math.sqrt(bound * (1 - bound) / strategies)


@pytest.mark.parametrize("decay", [1.0, 2.0])
def test_a_decayed_edge_is_flagged_within_the_stated_delay(decay: float) -> None:
    """The edge drops to zero (decay 1) or reverses (decay 2) after 100 good forward bars.

    The stated delay is the ARL of the chart at the decayed drift (Siegmund, at the true
    figures); at least 80% are flagged within twice that and the median within it.
    """
    rng = np.random.default_rng(3)
    allowance = DAILY_SHARPE_2 / 2
    threshold = cusum_threshold(allowance, 1000)
    stated = average_run_length(decay * DAILY_SHARPE_2 - allowance, threshold)
    delays = []
    for _ in range(200):
        promise = Promise.from_holdout(rng.normal(DAILY_SHARPE_2, 1, 500))
        good = rng.normal(DAILY_SHARPE_2, 1, 100)
        decayed = rng.normal(DAILY_SHARPE_2 * (1 - decay), 1, 2_000)
        result = monitor(promise, np.concatenate([good, decayed]), ARL_1000)
        if result.flagged and result.flagged_at >= 100:
            delays.append(result.flagged_at - 100 + 1)
        elif not result.flagged:
            delays.append(math.inf)
    delays_array = np.array(delays)
    assert len(delays) >= 180  # false alarms before the change are few
    assert np.mean(delays_array <= 2 * stated) >= 0.8
    assert np.median(delays_array) <= stated


def test_confirm_bars_delays_the_flag_to_a_run_above_the_threshold() -> None:
    rng = np.random.default_rng(4)
    promise = Promise.from_holdout(rng.normal(DAILY_SHARPE_2, 1, 500))
    forward = pd.Series(
        np.concatenate([rng.normal(DAILY_SHARPE_2, 1, 50), rng.normal(-0.3, 1, 400)]),
        index=pd.date_range("2024-01-01", periods=450, freq="D"),
    )
    once = monitor(promise, forward, ARL_1000)
    confirmed = monitor(promise, forward, ARL_1000.model_copy(update={"confirm_bars": 10}))
    assert once.flagged and confirmed.flagged
    assert confirmed.flagged_at - confirmed.crossed_at == pd.Timedelta(days=9)
    assert confirmed.crossed_at >= once.crossed_at
    assert (confirmed.path.loc[confirmed.crossed_at : confirmed.flagged_at] > once.threshold).all()
    assert "stayed there 10 bars" in confirmed.reason
    early = forward.loc[: confirmed.crossed_at + pd.Timedelta(days=3)]
    pending = monitor(promise, early, ARL_1000.model_copy(update={"confirm_bars": 10}))
    assert pending.state == "ok" and pending.reason.startswith("watch: the shortfall statistic")
    payload = json.loads(json.dumps(confirmed.to_json(path=True), allow_nan=False))
    assert payload["crossed_at"] == confirmed.crossed_at.isoformat()
    assert len(payload["path"]["statistic"]) == 450


def test_a_strategy_keeping_its_promise_reads_ok_with_evidence() -> None:
    rng = np.random.default_rng(5)
    promise = Promise.from_holdout(rng.normal(0.001, 0.01, 500))
    result = monitor(promise, rng.normal(0.002, 0.01, 300), periods_per_year=252)
    assert result.state == "ok"
    assert result.reason.startswith("keeping its promise")
    evidence = result.evidence
    assert evidence["forward_bars"] == 300 and evidence["holdout_bars"] == 500
    assert evidence["promised_sharpe"] == pytest.approx(promise.sharpe * math.sqrt(252))
    assert evidence["arl_bars"] == 2520
    assert evidence["expected_delay_bars"] > 0


@pytest.mark.parametrize(
    ("promise", "bars", "reason"),
    [
        (Promise(0.001, 0.01, 10), 100, "the promise rests on 10 holdout bars"),
        (Promise(0.0, 0.0, 100), 100, "the holdout returns never vary"),
        (Promise(-0.001, 0.01, 100), 100, "the holdout promised no edge"),
        (Promise(0.001, 0.01, 100), 5, "5 forward bars so far, 20 needed"),
        (Promise(0.001, 0.01, 100), 0, "0 forward bars so far, 20 needed"),
    ],
)
def test_not_enough_to_judge_is_said(promise: Promise, bars: int, reason: str) -> None:
    result = monitor(promise, np.full(bars, -0.05))
    assert result.state == "not_judged" and not result.flagged
    assert reason in result.reason
    assert result.evidence["forward_bars"] == bars
    json.dumps(result.to_json(path=True), allow_nan=False)


def test_a_promise_from_too_short_a_holdout_is_not_judged() -> None:
    assert monitor(Promise.from_holdout([0.01]), np.zeros(50)).state == "not_judged"
    assert monitor(Promise.from_holdout([]), np.zeros(50)).state == "not_judged"


def test_missing_forward_returns_are_refused_naming_the_bar() -> None:
    forward = pd.Series([0.01, np.nan, 0.02], index=pd.date_range("2024-03-01", periods=3))
    with pytest.raises(FactoryError, match=r"forward returns hold 1 missing .* 2024-03-02"):
        monitor(Promise(0.001, 0.01, 100), forward)
    with pytest.raises(FactoryError, match="one series of per-bar returns"):
        monitor(Promise(0.001, 0.01, 100), np.zeros((5, 2)))
    with pytest.raises(FactoryError, match="holdout returns must be numbers"):
        Promise.from_holdout(["a", "b"])


@pytest.mark.parametrize(
    "field",
    [{"decay": 0}, {"arl_years": 0}, {"confirm_bars": 0}, {"min_forward_bars": 0}, {"k": 1}],
)
def test_settings_out_of_range_are_refused(field: dict) -> None:
    with pytest.raises(ValidationError):
        MonitorSettings(**field)
