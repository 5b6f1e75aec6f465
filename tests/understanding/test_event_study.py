"""The event study's power and honesty: a planted event effect is confirmed with the right
sign and size, and 100 hypotheses per random walk make false discoveries at or below the
nominal false discovery rate, measured over many walks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom, false_discovery_control

from strategy_factory.data import synthetic_bars
from strategy_factory.data.synthetic import Regime
from strategy_factory.features import build_feature_matrix, make_target
from strategy_factory.features.rolling import rolling_zscore
from strategy_factory.understanding.event_study import (
    event_positions,
    event_study,
    signed_outcomes,
)
from strategy_factory.understanding.hypotheses import FDR

VOLATILITY = 0.2
STRENGTH = 0.1


def test_a_planted_event_effect_is_confirmed_with_its_sign_and_size() -> None:
    # One regime, so the planted effect's size is known: after bar t the next close-to-close
    # log return has mean sigma * strength * planted_t (the generator's model).
    bars = synthetic_bars(
        20_000, freq="1D", seed=4, regimes=(Regime(0.0, VOLATILITY),), planted_strength=STRENGTH
    )
    planted = bars["planted"].to_numpy()
    z = rolling_zscore(planted, 250)
    forward = make_target(bars, "log_return", 1).to_numpy()
    eligible = np.ones(len(bars), dtype=bool)
    positions = event_positions(z, forward, eligible, 2.0, "above", 1)
    outcomes = signed_outcomes(z, forward, positions, "up")
    study = event_study(outcomes, reps=2_000, seed=1)

    sigma = VOLATILITY / np.sqrt(365.25)
    true_effect = sigma * STRENGTH * planted[positions].mean()
    assert study.state == "tested"
    assert study.events == positions.size > 300
    assert study.p_value is not None and study.p_value < 0.001
    assert study.effect is not None and study.effect > 0
    assert study.ci_low is not None and study.ci_high is not None
    assert study.ci_low <= true_effect <= study.ci_high
    # The same events read the other way round are refused, not confirmed.
    against = event_study(signed_outcomes(z, forward, positions, "down"), reps=2_000, seed=1)
    assert against.p_value is not None and against.p_value > 0.99


def test_events_do_not_overlap_and_too_few_are_said() -> None:
    signal = np.array([3.0, 3.0, 3.0, 0.0, 3.0, 3.0, 0.0, 0.0, 3.0, 3.0])
    forward = np.ones(10)
    positions = event_positions(signal, forward, np.ones(10, dtype=bool), 2.0, "above", 3)
    assert positions.tolist() == [0, 4, 8]
    study = event_study(np.ones(5), min_events=30)
    assert study.state == "too_few_events" and study.p_value is None and study.events == 5


FEATURES = ["ret_1", "ret_5", "rsi_14", "vol_20", "volume_z_20", "bb_pos_20", "range_hl"]
WALKS = 30


def _hypotheses_on_a_walk(seed: int) -> np.ndarray:
    """p-values of 100 hypotheses on one walk (features, thresholds, horizons, directions)."""
    bars = synthetic_bars(4_000, freq="1D", seed=seed, tail_df=4.0, mean_duration=300)
    matrix = build_feature_matrix(bars, None, FEATURES)
    eligible = np.ones(len(bars), dtype=bool)
    rng = np.random.default_rng(seed)
    p_values = []
    for index in range(100):
        feature = FEATURES[index % len(FEATURES)]
        k = [1.5, 2.0, 2.5][index % 3]
        horizon = [1, 5, 10][(index // 3) % 3]
        expect = ["with", "against", "up", "down"][(index // 9) % 4]
        z = rolling_zscore(matrix[feature].to_numpy(), 250)
        forward = make_target(bars, "log_return", horizon).to_numpy()
        positions = event_positions(z, forward, eligible, k, "beyond", horizon)
        study = event_study(
            signed_outcomes(z, forward, positions, expect),
            reps=200,  # the bootstrap gives only the CI; the p-value is Student's t
            seed=int(rng.integers(2**31)),
            min_events=10,
        )
        if study.p_value is not None:  # a rare threshold and long horizon: too few events
            p_values.append(study.p_value)
    assert len(p_values) >= 90
    return np.array(p_values)


@pytest.mark.slow
def test_false_discoveries_on_random_walks_stay_at_or_below_the_nominal_rate() -> None:
    # Every hypothesis is false on a random walk, so the false discovery proportion of a walk
    # is 1 when anything is rejected: the FDR is the share of walks with a rejection.
    with_discoveries = 0
    uniform_share = []
    for seed in range(WALKS):
        p_values = _hypotheses_on_a_walk(seed)
        uniform_share.append(np.mean(p_values <= 0.05))
        with_discoveries += bool((false_discovery_control(p_values) <= FDR).any())
    # At the nominal rate the count is Binomial(WALKS, FDR); allow its 99.9% quantile.
    assert with_discoveries <= binom.ppf(0.999, WALKS, FDR)
    # The p-values themselves are honest: about 5% of them fall at or below 0.05.
    assert np.mean(uniform_share) == pytest.approx(0.05, abs=0.025)
