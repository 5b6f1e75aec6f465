"""Hidden-Markov volatility regimes, labelled by the *filtered* state probability.

hmmlearn fits a Gaussian HMM to one-bar log returns of the training window. Its own
``predict`` (Viterbi) and ``predict_proba`` (forward-backward) condition every bar on
the whole sequence, future included, so they are not used: bar ``t`` is labelled by
``argmax p(state_t | returns up to t)``, the forward recursion run with the fitted
parameters. States are sorted by variance, so label 0 is the calmest whatever the seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numba
import numpy as np
import pandas as pd
from hmmlearn.hmm import GaussianHMM

from strategy_factory.features.labeler import (
    UNDEFINED,
    RegimeLabeler,
    check_n_regimes,
    training_rows,
    volatility_ranks,
)
from strategy_factory.features.spec import check_bars
from strategy_factory.features.volatility import log_returns


@numba.njit(cache=True)
def _forward_filter(
    log_emission: np.ndarray, start: np.ndarray, transitions: np.ndarray
) -> np.ndarray:
    """p(state_t | observations up to t) for every t (the normalized forward variable)."""
    n, k = log_emission.shape
    filtered = np.empty((n, k))
    prior = start.copy()
    for t in range(n):
        peak = log_emission[t].max()
        total = 0.0
        for j in range(k):
            filtered[t, j] = prior[j] * np.exp(log_emission[t, j] - peak)
            total += filtered[t, j]
        if total > 0.0:
            filtered[t] /= total
        else:
            # The prior ruled out every state that could emit this: trust the evidence.
            filtered[t] = np.exp(log_emission[t] - peak)
            filtered[t] /= filtered[t].sum()
        prior = filtered[t] @ transitions
    return filtered


def _initial_model(n_regimes: int, n_iter: int, tol: float) -> GaussianHMM:
    # hmmlearn's default start runs k-means, which is slow and seed-dependent; regimes of
    # volatility have an obvious start instead: calm to wild, each state persistent.
    model = GaussianHMM(n_regimes, "diag", n_iter=n_iter, tol=tol, init_params="")
    stay = 0.9
    model.startprob_ = np.full(n_regimes, 1.0 / n_regimes)
    model.transmat_ = np.full((n_regimes, n_regimes), (1.0 - stay) / (n_regimes - 1))
    np.fill_diagonal(model.transmat_, stay)
    model.means_ = np.zeros((n_regimes, 1))
    model.covars_ = np.geomspace(0.25, 4.0, n_regimes)[:, None]
    return model


class HMMRegimes(RegimeLabeler):
    """Gaussian HMM on one-bar log returns; label = most probable state given the past.

    EM starts from the same place every time (zero means, variances spread from a
    quarter to four times the training variance, persistent states), so a refit gives
    the same labels without a seed. ``max_train_bars`` caps the training sample at the
    most recent bars of the window (EM over millions of bars buys nothing).

    Example::

        hmm = HMMRegimes(n_regimes=2).fit(bars.loc[:"2015"])
        labels = hmm.predict(bars)            # 0 = calm, 1 = volatile; -1 on the first bar
    """

    def __init__(
        self,
        n_regimes: int = 2,
        n_iter: int = 100,
        tol: float = 1e-4,
        max_train_bars: int = 100_000,
    ) -> None:
        self.n_regimes = n_regimes
        self.n_iter = n_iter
        self.tol = tol
        self.max_train_bars = max_train_bars

    @property
    def n_labels(self) -> int:
        return self.n_regimes

    def describe_labels(self) -> dict[int, str]:
        return volatility_ranks(self.n_regimes)

    def _observations(self, bars: pd.DataFrame) -> np.ndarray:
        return log_returns(bars["close"].to_numpy(dtype=np.float64))

    def _fit(self, bars: pd.DataFrame, references: dict[str, pd.DataFrame]) -> None:
        check_n_regimes(self.n_regimes)
        returns = self._observations(bars)[:, None]
        rows = training_rows(returns, 20 * self.n_regimes, self.max_train_bars, "HMMRegimes")
        # Unit-variance returns keep hmmlearn's covariance floor meaningful at any bar size.
        self.scale_ = float(rows.std()) or 1.0
        model = _initial_model(self.n_regimes, self.n_iter, self.tol)
        model.fit(rows / self.scale_)
        order = np.argsort(model.covars_[:, 0, 0], kind="stable")
        self.startprob_ = model.startprob_[order]
        self.transmat_ = model.transmat_[np.ix_(order, order)]
        self.means_ = model.means_[order, 0]
        self.variances_ = model.covars_[order, 0, 0]

    def _state(self) -> dict[str, Any]:
        return {
            "scale": self.scale_,
            "startprob": self.startprob_.tolist(),
            "transmat": self.transmat_.tolist(),
            "means": self.means_.tolist(),
            "variances": self.variances_.tolist(),
        }

    def _restore(self, state: Mapping[str, Any]) -> None:
        self.scale_ = float(state["scale"])
        self.startprob_ = np.asarray(state["startprob"], dtype=np.float64)
        self.transmat_ = np.asarray(state["transmat"], dtype=np.float64)
        self.means_ = np.asarray(state["means"], dtype=np.float64)
        self.variances_ = np.asarray(state["variances"], dtype=np.float64)
        shapes = {a.shape for a in (self.startprob_, self.means_, self.variances_)}
        if shapes != {(self.n_regimes,)} or self.transmat_.shape != (self.n_regimes,) * 2:
            raise ValueError(f"parameters do not describe {self.n_regimes} states")

    def predict_proba(self, bars: pd.DataFrame) -> np.ndarray:
        """p(state_t | returns up to t), shape (bars, n_regimes), states ordered by variance.

        The filter starts at the first bar given, from the fitted start probabilities:
        label bars together with their history, not a slice cut from it.
        """
        self._check_fitted()
        check_bars(bars)
        returns = self._observations(bars) / self.scale_
        log_emission = -0.5 * (
            np.log(2.0 * np.pi * self.variances_)
            + (returns[:, None] - self.means_) ** 2 / self.variances_
        )
        # A bar without a return (the first) carries no evidence: the prior passes through.
        log_emission[~np.isfinite(returns)] = 0.0
        return _forward_filter(log_emission, self.startprob_, self.transmat_)

    def _predict(self, bars: pd.DataFrame, references: dict[str, pd.DataFrame]) -> np.ndarray:
        returns = self._observations(bars)
        labels = self.predict_proba(bars).argmax(axis=1)
        return np.where(np.isfinite(returns), labels, UNDEFINED)
