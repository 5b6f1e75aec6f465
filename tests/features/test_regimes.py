"""Regime labelers: they recover known volatility regimes, refit stably, and follow their rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hmmlearn.hmm import GaussianHMM
from sklearn.base import clone

from strategy_factory.data import Regime, regime_path, synthetic_bars
from strategy_factory.errors import FactoryError
from strategy_factory.features import (
    UNDEFINED,
    GMMRegimes,
    HMMRegimes,
    TrendVolRegimes,
    VIXRegimes,
    align_reference,
    default_labelers,
    label_regimes,
)

N_BARS = 16_000
DURATION = 400.0


def _known_regimes(volatilities: tuple[float, ...], seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    regimes = tuple(Regime(0.0, v) for v in volatilities)
    bars = synthetic_bars(N_BARS, regimes=regimes, seed=seed, mean_duration=DURATION)
    return bars, regime_path(N_BARS, DURATION, len(regimes), seed)


@pytest.fixture(scope="module")
def two_regimes() -> tuple[pd.DataFrame, np.ndarray]:
    return _known_regimes((0.08, 0.40), seed=4)


@pytest.fixture(scope="module")
def three_regimes() -> tuple[pd.DataFrame, np.ndarray]:
    return _known_regimes((0.06, 0.20, 0.60), seed=5)


def _out_of_sample_agreement(labeler, case) -> float:  # type: ignore[no-untyped-def]
    bars, truth = case
    half = N_BARS // 2
    labels = labeler.fit(bars.iloc[:half]).predict(bars)
    return float((labels[half:] == truth[half:]).mean())


@pytest.mark.parametrize("labeler", [GMMRegimes(n_regimes=2), HMMRegimes(n_regimes=2)])
def test_two_known_regimes_are_recovered_out_of_sample(labeler, two_regimes) -> None:  # type: ignore[no-untyped-def]
    # Chance is about 0.5; the generator's regime 0 is the calm one, as is label 0.
    assert _out_of_sample_agreement(labeler, two_regimes) > 0.9


@pytest.mark.parametrize("labeler", [GMMRegimes(n_regimes=3), HMMRegimes(n_regimes=3)])
def test_three_known_regimes_are_recovered_out_of_sample(labeler, three_regimes) -> None:  # type: ignore[no-untyped-def]
    assert _out_of_sample_agreement(labeler, three_regimes) > 0.85  # chance: about 1/3


def test_gmm_labels_do_not_depend_on_the_seed(three_regimes) -> None:  # type: ignore[no-untyped-def]
    bars, _ = three_regimes
    labels = [GMMRegimes(random_state=s).fit(bars.iloc[:8000]).predict(bars) for s in (0, 1, 2)]
    assert (labels[0] == labels[1]).mean() > 0.99
    assert (labels[0] == labels[2]).mean() > 0.99


def test_hmm_labels_are_stable_across_training_windows(two_regimes) -> None:  # type: ignore[no-untyped-def]
    bars, _ = two_regimes
    early = HMMRegimes().fit(bars.iloc[:6000]).predict(bars)
    late = HMMRegimes().fit(bars.iloc[2000:9000]).predict(bars)
    assert (early[9000:] == late[9000:]).mean() > 0.97


def test_hmm_label_is_the_filtered_state_as_hmmlearn_computes_it(sp500: pd.DataFrame) -> None:
    """hmmlearn's posterior at the *last* bar of a sequence is the filtered one: p(s_t | x_1..t)."""
    bars = sp500.iloc[:1500]
    hmm = HMMRegimes(n_regimes=3).fit(bars)
    ours = hmm.predict_proba(bars)
    reference = GaussianHMM(3, "diag", init_params="", params="")
    reference.startprob_, reference.transmat_ = hmm.startprob_, hmm.transmat_
    reference.means_ = hmm.means_[:, None]
    reference.covars_ = hmm.variances_[:, None]
    # The first bar has no return; hmmlearn's sequence starts at bar 1 from our filtered prior.
    reference.startprob_ = ours[0] @ hmm.transmat_
    returns = (np.log(bars["close"]).diff().to_numpy() / hmm.scale_)[:, None]
    for t in (1, 2, 50, 700, 1499):
        expected = reference.predict_proba(returns[1 : t + 1])[-1]
        np.testing.assert_allclose(ours[t], expected, atol=1e-9)
    labels = hmm.predict(bars)
    assert labels[0] == UNDEFINED
    np.testing.assert_array_equal(labels[1:], ours[1:].argmax(axis=1))
    assert np.all(np.diff(hmm.variances_) > 0)


def test_vix_buckets_match_the_thresholds_exactly(sp500: pd.DataFrame, vix: pd.DataFrame) -> None:
    level = align_reference(vix, sp500.index)
    thresholds = (13.0, float(np.nanmedian(level)), 25.0)
    labeler = VIXRegimes(thresholds=thresholds).fit(sp500, {"vix": vix})
    labels = labeler.predict(sp500, {"vix": vix})
    expected = np.select(
        [np.isnan(level), level < 13, level < thresholds[1], level < 25], [-1, 0, 1, 2], 3
    )
    np.testing.assert_array_equal(labels, expected)
    assert (labels[level == thresholds[1]] == 2).all() and (level == thresholds[1]).any()
    assert labeler.n_labels == 4 and list(labeler.labels_) == [0, 1, 2, 3]
    assert labeler.describe_labels()[1] == f"13 <= VIX < {thresholds[1]:g}"


def test_trend_and_volatility_rules(sp500: pd.DataFrame) -> None:
    labels = TrendVolRegimes().fit(sp500).predict(sp500)
    close = sp500["close"]
    returns_std = np.log(close).diff().rolling(20).std()
    z = (returns_std - returns_std.rolling(250).mean()) / returns_std.rolling(250).std()
    down = close <= close.rolling(200).mean()
    expected = (2 * down + (z > 0)).where(z.notna() & close.rolling(200).mean().notna(), -1)
    np.testing.assert_array_equal(labels, expected.to_numpy())
    assert set(np.unique(labels)) == {-1, 0, 1, 2, 3}


def test_label_regimes_fits_on_the_training_window_only(
    sp500: pd.DataFrame, vix: pd.DataFrame
) -> None:
    train_end = pd.Timestamp("2015-12-31", tz="UTC")
    regimes = label_regimes(sp500, {"VIX": vix}, train_end=train_end)
    assert list(regimes) == ["regime_gmm", "regime_hmm", "regime_trend", "regime_vix"]
    assert (regimes.dtypes == np.int64).all() and regimes.index.equals(sp500.index)
    gmm = GMMRegimes().fit(sp500.loc[:train_end])
    np.testing.assert_array_equal(regimes["regime_gmm"], gmm.predict(sp500))
    different = GMMRegimes().fit(sp500).predict(sp500)
    assert not np.array_equal(different, regimes["regime_gmm"])
    for name, labeler in default_labelers({"VIX": vix}).items():
        assert set(np.unique(regimes[name])) <= {UNDEFINED, *range(labeler.n_labels)}


def test_labelers_are_sklearn_estimators() -> None:
    labeler = GMMRegimes(n_regimes=4, window=30)
    assert clone(labeler).get_params() == labeler.get_params()
    assert labeler.get_params()["n_regimes"] == 4
    assert labeler.n_labels == 4 and labeler.describe_labels()[0] == "calmest"


def test_default_labelers_add_vix_only_with_a_vix_reference(vix: pd.DataFrame) -> None:
    assert "regime_vix" not in default_labelers()
    assert "regime_vix" in default_labelers({"vix": vix})


@pytest.mark.parametrize(
    ("labeler", "message"),
    [
        (GMMRegimes(n_regimes=1), "n_regimes must be a whole number from 2"),
        (HMMRegimes(n_regimes=20), "n_regimes must be a whole number from 2"),
        (VIXRegimes(thresholds=(20, 15)), "thresholds must be increasing"),
        (VIXRegimes(), "needs the reference symbol VIX"),
        (TrendVolRegimes(trend_window=1), "at least 2 bars"),
    ],
)
def test_bad_labelers_are_clear_errors(labeler, message: str, sp500: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FactoryError, match=message):
        labeler.fit(sp500)


@pytest.mark.parametrize("labeler", [GMMRegimes(), HMMRegimes(), VIXRegimes(), TrendVolRegimes()])
def test_predict_before_fit_is_a_clear_error(labeler, sp500: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FactoryError, match="is not fitted yet"):
        labeler.predict(sp500)


def test_too_short_training_window(sp500: pd.DataFrame) -> None:
    with pytest.raises(FactoryError, match="needs at least 60 usable training bars"):
        GMMRegimes().fit(sp500.iloc[:50])


def test_regime_columns_must_be_named_regime(sp500: pd.DataFrame) -> None:
    with pytest.raises(FactoryError, match="must start with 'regime_'"):
        label_regimes(sp500, labelers={"gmm": GMMRegimes()})


def test_train_end_before_the_bars(sp500: pd.DataFrame) -> None:
    with pytest.raises(FactoryError, match="no training bars up to train_end 1990-01-01"):
        label_regimes(sp500, train_end="1990-01-01")
