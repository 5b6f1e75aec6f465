"""Regime labelers (GMM, HMM, VIX buckets, trend × volatility) and the one call that applies them.

Regime filters name labelers by column: ``{"regime_gmm": [1]}`` keeps bars whose GMM
regime is 1. :func:`label_regimes` fits every labeler on the training window only and
labels all bars forward; ``labeler.n_labels`` / ``labels_`` say which labels exist, so
a filter naming another label can be rejected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from strategy_factory.data import normalize_symbol
from strategy_factory.errors import FactoryError
from strategy_factory.features.hmm import HMMRegimes
from strategy_factory.features.labeler import (
    UNDEFINED,
    RegimeLabeler,
    check_n_regimes,
    training_rows,
    volatility_ranks,
)
from strategy_factory.features.reference import align_reference
from strategy_factory.features.rolling import rolling_mean
from strategy_factory.features.spec import check_bars, named_references
from strategy_factory.features.volatility import log_returns, rolling_volatility, volatility_zscore


class GMMRegimes(RegimeLabeler):
    """Gaussian mixture on (mean return, log volatility) over the last ``window`` bars.

    Both coordinates are causal rolling statistics, standardized with the training
    window's mean and spread. EM starts with one component per volatility quantile, so
    it does not spend a component on up- versus down-moves of one volatile regime and
    the result hardly depends on ``random_state``; components are then sorted by
    volatility (0 = calmest).
    """

    def __init__(
        self,
        n_regimes: int = 3,
        window: int = 20,
        random_state: int = 0,
        max_train_bars: int = 200_000,
    ) -> None:
        self.n_regimes = n_regimes
        self.window = window
        self.random_state = random_state
        self.max_train_bars = max_train_bars

    @property
    def n_labels(self) -> int:
        return self.n_regimes

    def describe_labels(self) -> dict[int, str]:
        return volatility_ranks(self.n_regimes)

    def _observations(self, bars: pd.DataFrame) -> np.ndarray:
        close = bars["close"].to_numpy(dtype=np.float64)
        trend = rolling_mean(log_returns(close), self.window)
        with np.errstate(divide="ignore"):
            volatility = np.log(rolling_volatility(close, self.window))
        return np.column_stack([trend, volatility])

    def _fit(self, bars: pd.DataFrame, references: dict[str, pd.DataFrame]) -> None:
        check_n_regimes(self.n_regimes)
        if self.window < 2:
            raise FactoryError(f"GMMRegimes window must be at least 2 bars, got {self.window}")
        rows = training_rows(
            self._observations(bars), 20 * self.n_regimes, self.max_train_bars, "GMMRegimes"
        )
        self.center_ = rows.mean(axis=0)
        self.scale_ = np.where(rows.std(axis=0) > 0, rows.std(axis=0), 1.0)
        standardized = (rows - self.center_) / self.scale_
        quantiles = (np.arange(self.n_regimes) + 0.5) / self.n_regimes
        start = np.column_stack(
            [np.zeros(self.n_regimes), np.quantile(standardized[:, 1], quantiles)]
        )
        mixture = GaussianMixture(self.n_regimes, means_init=start, random_state=self.random_state)
        # k-means (which still seeds the covariances) on a few thousand 2-D points runs
        # ten times slower on a thread pool than on one thread.
        with threadpool_limits(1):
            mixture.fit(standardized)
        self.mixture_ = mixture
        # rank_[component] = its place by mean volatility, so label 0 is always the calmest.
        self.rank_ = np.argsort(np.argsort(mixture.means_[:, 1], kind="stable"))

    def _predict(self, bars: pd.DataFrame, references: dict[str, pd.DataFrame]) -> np.ndarray:
        observations = self._observations(bars)
        usable = np.isfinite(observations).all(axis=1)
        labels = np.full(len(bars), UNDEFINED, dtype=np.int64)
        if usable.any():
            standardized = (observations[usable] - self.center_) / self.scale_
            labels[usable] = self.rank_[self.mixture_.predict(standardized)]
        return labels

    def _state(self) -> dict[str, Any]:
        mixture = self.mixture_
        return {
            "center": self.center_.tolist(),
            "scale": self.scale_.tolist(),
            "rank": self.rank_.tolist(),
            "weights": mixture.weights_.tolist(),
            "means": mixture.means_.tolist(),
            "covariances": mixture.covariances_.tolist(),
            "precisions_cholesky": mixture.precisions_cholesky_.tolist(),
        }

    def _restore(self, state: Mapping[str, Any]) -> None:
        # The fitted attributes GaussianMixture.predict reads, nothing else.
        mixture = GaussianMixture(self.n_regimes, random_state=self.random_state)
        mixture.weights_ = np.asarray(state["weights"], dtype=np.float64)
        mixture.means_ = np.asarray(state["means"], dtype=np.float64)
        mixture.covariances_ = np.asarray(state["covariances"], dtype=np.float64)
        mixture.precisions_cholesky_ = np.asarray(state["precisions_cholesky"], dtype=np.float64)
        mixture.n_features_in_ = 2
        if mixture.means_.shape != (self.n_regimes, 2):
            raise ValueError(f"means of shape {mixture.means_.shape}, not ({self.n_regimes}, 2)")
        self.mixture_ = mixture
        self.center_ = np.asarray(state["center"], dtype=np.float64)
        self.scale_ = np.asarray(state["scale"], dtype=np.float64)
        self.rank_ = np.asarray(state["rank"], dtype=np.int64)


class VIXRegimes(RegimeLabeler):
    """Buckets of the VIX level: with thresholds (15, 20, 30), below 15 is 0, 15 to 20 is 1, …

    A level equal to a threshold falls in the bucket above it. The VIX comes from the
    reference named ``reference``, aligned onto the bars without look-ahead; bars before
    its first value are -1.
    """

    def __init__(self, thresholds: Sequence[float] = (15.0, 20.0, 30.0), reference: str = "VIX"):
        self.thresholds = thresholds
        self.reference = reference

    @property
    def n_labels(self) -> int:
        return len(self.thresholds) + 1

    def describe_labels(self) -> dict[int, str]:
        edges = [f"{t:g}" for t in self.thresholds]
        names = {
            0: f"{self.reference} < {edges[0]}",
            len(edges): f"{self.reference} >= {edges[-1]}",
        }
        for i in range(1, len(edges)):
            names[i] = f"{edges[i - 1]} <= {self.reference} < {edges[i]}"
        return names

    def _level(self, bars: pd.DataFrame, references: dict[str, pd.DataFrame]) -> np.ndarray:
        name = normalize_symbol(self.reference)
        if name not in references:
            given = ", ".join(references) or "none"
            raise FactoryError(
                f"VIXRegimes needs the reference symbol {name} (references given: {given}); "
                f"pass references={{'{name}': bars}}"
            )
        return align_reference(references[name], bars.index)

    def _fit(self, bars: pd.DataFrame, references: dict[str, pd.DataFrame]) -> None:
        edges = np.asarray(self.thresholds, dtype=np.float64)
        if edges.size == 0 or not np.isfinite(edges).all() or (np.diff(edges) <= 0).any():
            raise FactoryError(
                f"VIXRegimes thresholds must be increasing finite numbers, got {self.thresholds!r}"
            )
        self._level(bars, references)

    def _predict(self, bars: pd.DataFrame, references: dict[str, pd.DataFrame]) -> np.ndarray:
        level = self._level(bars, references)
        buckets = np.searchsorted(np.asarray(self.thresholds, dtype=np.float64), level, "right")
        return np.where(np.isfinite(level), buckets, UNDEFINED)

    def _state(self) -> dict[str, Any]:
        return {}  # rules only: nothing learned

    def _restore(self, state: Mapping[str, Any]) -> None:
        return None


class TrendVolRegimes(RegimeLabeler):
    """Trend (close above its ``trend_window`` SMA) × volatility (vol z-score above ``z_limit``).

    Labels: 0 uptrend & calm, 1 uptrend & volatile, 2 downtrend & calm, 3 downtrend & volatile.
    Rules only: ``fit`` learns nothing but checks the parameters.
    """

    def __init__(
        self,
        trend_window: int = 200,
        vol_window: int = 20,
        z_window: int = 250,
        z_limit: float = 0.0,
    ) -> None:
        self.trend_window = trend_window
        self.vol_window = vol_window
        self.z_window = z_window
        self.z_limit = z_limit

    @property
    def n_labels(self) -> int:
        return 4

    def describe_labels(self) -> dict[int, str]:
        return {
            0: "uptrend, calm",
            1: "uptrend, volatile",
            2: "downtrend, calm",
            3: "downtrend, volatile",
        }

    def _fit(self, bars: pd.DataFrame, references: dict[str, pd.DataFrame]) -> None:
        if min(self.trend_window, self.vol_window, self.z_window) < 2:
            raise FactoryError("TrendVolRegimes windows must each be at least 2 bars")

    def _predict(self, bars: pd.DataFrame, references: dict[str, pd.DataFrame]) -> np.ndarray:
        close = bars["close"].to_numpy(dtype=np.float64)
        average = rolling_mean(close, self.trend_window)
        z = volatility_zscore(close, self.vol_window, self.z_window)
        labels = 2 * (close <= average) + (z > self.z_limit)
        return np.where(np.isfinite(average) & np.isfinite(z), labels, UNDEFINED)

    def _state(self) -> dict[str, Any]:
        return {}  # rules only: nothing learned

    def _restore(self, state: Mapping[str, Any]) -> None:
        return None


def default_labelers(
    references: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, RegimeLabeler]:
    """The standard labelers by column name; ``regime_vix`` only when a VIX reference is given."""
    labelers: dict[str, RegimeLabeler] = {
        "regime_gmm": GMMRegimes(),
        "regime_hmm": HMMRegimes(),
        "regime_trend": TrendVolRegimes(),
    }
    if "VIX" in named_references(references):
        labelers["regime_vix"] = VIXRegimes()
    return labelers


def label_regimes(
    bars: pd.DataFrame,
    references: Mapping[str, pd.DataFrame] | None = None,
    train_end: pd.Timestamp | str | None = None,
    labelers: Mapping[str, RegimeLabeler] | None = None,
) -> pd.DataFrame:
    """Regime labels of every bar: one int64 column per labeler, fitted on ``bars[:train_end]``.

    ``train_end`` is inclusive; without it the labelers are fitted on all bars, which is
    fine for exploring and wrong for judging a strategy. The labelers passed in are
    cloned, not modified.

    Example::

        regimes = label_regimes(sp500, {"VIX": vix}, train_end="2012-12-31")
        calm = regimes["regime_gmm"] == 0
    """
    check_bars(bars)
    chosen = dict(labelers) if labelers is not None else default_labelers(references)
    for name in chosen:
        if not name.startswith("regime_"):
            raise FactoryError(
                f"regime column {name!r} must start with 'regime_', e.g. 'regime_{name}'"
            )
    training = bars if train_end is None else bars.loc[: _utc(train_end)]
    if len(training) < 2:
        raise FactoryError(
            f"no training bars up to train_end {train_end}; the bars start {bars.index[0]}"
        )
    columns = {
        name: clone(labeler).fit(training, references).predict(bars, references)
        for name, labeler in chosen.items()
    }
    return pd.DataFrame(columns, index=bars.index, dtype=np.int64)


def _utc(moment: pd.Timestamp | str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(moment)
    except ValueError as exc:
        raise FactoryError(f"train_end {moment!r} is not a date or timestamp") from exc
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
