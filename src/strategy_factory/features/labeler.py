"""The contract every regime labeler keeps, in the scikit-learn estimator style.

A labeler's constructor only stores parameters; ``fit(training_bars, references)``
learns from the training window and returns the labeler; ``predict(bars, references)``
labels every bar with an int64 in ``labels_`` (0 … ``n_labels - 1``) or -1 where the
label is undefined (warm-up, missing reference). The label of bar ``t`` uses only bars
up to ``t``'s close and what ``fit`` learned, so a labeler fitted on a training window
can be applied forward without look-ahead. Users may subclass it with their own.

What ``fit`` learned can leave a labeler as plain JSON values (:meth:`fitted_state`) and
come back into a fresh one (:meth:`restore`), which then labels exactly as the fitted
one: a labeler fitted once on a training window is stored safely (nothing executes when
it is read) and applied to later bars without fitting it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from strategy_factory.errors import FactoryError
from strategy_factory.features.spec import check_bars, named_references

UNDEFINED = -1


class RegimeLabeler(BaseEstimator):
    """Base class: subclasses define ``n_labels``, ``describe_labels``, ``_fit``, ``_predict``."""

    @property
    def n_labels(self) -> int:
        """How many labels (0 … n_labels - 1) this labeler can give, known before fitting."""
        raise NotImplementedError

    def describe_labels(self) -> dict[int, str]:
        """What each label means, e.g. ``{0: "calmest", 1: "most volatile"}``."""
        raise NotImplementedError

    def fit(self, bars: pd.DataFrame, references: Mapping[str, pd.DataFrame] | None = None) -> Self:
        """Learn from the training window ``bars`` only; returns ``self``."""
        check_bars(bars, "training bars")
        self._fit(bars, named_references(references))
        self.labels_ = np.arange(self.n_labels, dtype=np.int64)
        return self

    def predict(
        self, bars: pd.DataFrame, references: Mapping[str, pd.DataFrame] | None = None
    ) -> np.ndarray:
        """The regime of every bar as int64, -1 where it is undefined."""
        self._check_fitted()
        check_bars(bars)
        labels = self._predict(bars, named_references(references))
        return np.asarray(labels, dtype=np.int64)

    def fitted_state(self) -> dict[str, Any]:
        """What ``fit`` learned, as JSON values (numbers and lists of numbers)."""
        self._check_fitted()
        return self._state()

    def restore(self, state: Mapping[str, Any]) -> Self:
        """Set what ``fit`` learned from a :meth:`fitted_state`; returns ``self``."""
        try:
            self._restore(state)
        except (KeyError, TypeError, ValueError) as exc:
            raise FactoryError(
                f"not a fitted state of {type(self).__name__} ({type(exc).__name__}: {exc})"
            ) from exc
        self.labels_ = np.arange(self.n_labels, dtype=np.int64)
        return self

    def fit_predict(
        self, bars: pd.DataFrame, references: Mapping[str, pd.DataFrame] | None = None
    ) -> np.ndarray:
        """Fit on ``bars`` and label them (in-sample: for exploring, not for testing)."""
        return self.fit(bars, references).predict(bars, references)

    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise FactoryError(
                f"{type(self).__name__} is not fitted yet; call fit(training_bars) before predict"
            )

    def _fit(self, bars: pd.DataFrame, references: dict[str, pd.DataFrame]) -> None:
        raise NotImplementedError

    def _predict(self, bars: pd.DataFrame, references: dict[str, pd.DataFrame]) -> np.ndarray:
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} cannot export what it learned")

    def _restore(self, state: Mapping[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot restore what it learned")


def volatility_ranks(n_regimes: int) -> dict[int, str]:
    """Label meanings of a labeler whose states are ordered by volatility."""
    names = {i: f"volatility rank {i}" for i in range(n_regimes)}
    names[0] = "calmest"
    names[n_regimes - 1] = "most volatile"
    return names


def check_n_regimes(n_regimes: int, most: int = 8) -> None:
    """Reject a number of regimes outside 2 … ``most``."""
    if isinstance(n_regimes, bool) or not isinstance(n_regimes, int) or not 2 <= n_regimes <= most:
        raise FactoryError(f"n_regimes must be a whole number from 2 to {most}, got {n_regimes!r}")


def training_rows(observations: np.ndarray, minimum: int, max_rows: int, what: str) -> np.ndarray:
    """The finite rows of ``observations`` to fit on: the last ``max_rows`` of them."""
    finite = observations[np.isfinite(observations).all(axis=1)]
    if len(finite) < minimum:
        raise FactoryError(
            f"{what} needs at least {minimum} usable training bars after its warm-up, got "
            f"{len(finite)}; give it a longer training window"
        )
    return finite[-max_rows:]
