"""The warm-up forward tracking computes over is long enough: on a window of WARM_UP_BARS
bars before a cut, every feature of the library, the volatility z-score and every regime
label after the cut equal their full-history values — and a shorter window would not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from strategy_factory.data import BarCatalog, Regime, synthetic_bars
from strategy_factory.features import build_feature_matrix, default_labelers, volatility_zscore
from strategy_factory.learning.forward_window import WARM_UP_BARS

# Rounding, not memory: OBV's z-score reads a cumulative sum whose level depends on where
# the series starts, so its last digits do (about 2e-10 of its scale); everything else
# agrees to about 1e-11.
TOLERANCE = 1e-9


REGIMES = (Regime(0.0, 0.5), Regime(0.0, 0.9))
# Hourly bars with a planted column and a reference; the cut leaves 7,000 bars out.
HOURLY = synthetic_bars(16_000, freq="1h", seed=21, planted_strength=0.1, regimes=REGIMES)
HOURLY_REFERENCES = {"REF": synthetic_bars(16_000, freq="1h", seed=22, regimes=REGIMES)}
CUT = 11_000


@pytest.fixture(scope="module")
def real(shared_bars: BarCatalog) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """SP500 with NASDAQ and VIX: daily bars with volume, a priced and a close-only reference."""
    return shared_bars.load("SP500"), {
        "NASDAQ": shared_bars.load("NASDAQ"),
        "VIX": shared_bars.load("VIX"),
    }


def window(
    bars: pd.DataFrame, references: dict[str, pd.DataFrame], cut: int, warm_up: int
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """What an update after bar ``cut - 1`` reads (as forward_window cuts it)."""
    first = bars.index[cut - 1 - warm_up]
    return bars.loc[first:], {name: ref.loc[first:] for name, ref in references.items()}


def feature_gaps(
    bars: pd.DataFrame, references: dict[str, pd.DataFrame], cut: int, warm_up: int
) -> pd.Series:
    """Per feature: the largest difference after ``cut`` between the window's value and
    the full history's, relative to the feature's scale (inf where NaNs disagree)."""
    full = build_feature_matrix(bars, references).iloc[cut:]
    part = build_feature_matrix(*window(bars, references, cut, warm_up)).loc[full.index]
    a, b = full.to_numpy(), part[full.columns].to_numpy()
    disagree = (np.isnan(a) != np.isnan(b)).any(axis=0)
    scale = np.maximum(np.nanmax(np.abs(a), axis=0), 1e-300)
    gap = np.nanmax(np.abs(a - b), axis=0) / scale
    return pd.Series(np.where(disagree, np.inf, gap), index=full.columns)


def test_features_on_the_warm_up_window_equal_the_full_history(
    real: tuple[pd.DataFrame, dict[str, pd.DataFrame]],
) -> None:
    sp500, references = real
    cases = [
        ("hourly", HOURLY, HOURLY_REFERENCES, CUT),
        ("SP500", sp500, references, len(sp500) - 250),
    ]
    for name, bars, refs, cut in cases:
        assert cut - 1 - WARM_UP_BARS > 0  # the window really leaves history out
        gaps = feature_gaps(bars, refs, cut, WARM_UP_BARS)
        assert len(gaps) > 40
        assert gaps.max() <= TOLERANCE, (name, gaps.sort_values().tail(3).to_dict())
    # Not vacuous: a quarter of the warm-up leaves EMA(200) visibly off.
    short = feature_gaps(HOURLY, HOURLY_REFERENCES, CUT, WARM_UP_BARS // 4)
    assert short["ema_ratio_200"] > 1e-6


def test_z_scores_and_regime_labels_on_the_warm_up_window_equal_the_full_history() -> None:
    bars, references, cut = HOURLY, HOURLY_REFERENCES, CUT
    part, part_references = window(bars, references, cut, WARM_UP_BARS)
    after = bars.index[cut:]
    full_z = pd.Series(volatility_zscore(bars["close"].to_numpy()), bars.index)[after]
    part_z = pd.Series(volatility_zscore(part["close"].to_numpy()), part.index)[after]
    np.testing.assert_allclose(part_z, full_z, rtol=0, atol=TOLERANCE)
    training = bars.iloc[:6_000]
    for name, labeler in default_labelers(references).items():
        fitted = clone(labeler).fit(training, references)
        full = pd.Series(fitted.predict(bars, references), bars.index)[after]
        forward = pd.Series(fitted.predict(part, part_references), part.index)[after]
        assert forward.equals(full), name
        assert full.nunique() > 1, name
    hmm = clone(default_labelers()["regime_hmm"]).fit(training)
    full_p = hmm.predict_proba(bars)[cut:]
    part_p = hmm.predict_proba(part)[-len(after) :]
    np.testing.assert_allclose(part_p, full_p, rtol=0, atol=1e-12)  # the filter forgot its start
