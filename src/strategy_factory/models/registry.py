"""A trained model: its fitted estimator and everything needed to trust and reuse it.

A model predicts on the feature frame of any symbol that has its features: columns are
matched by name. :mod:`.artifacts` writes and reads it in a format that cannot execute code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.errors import FactoryError
from strategy_factory.models.config import TrainingConfig
from strategy_factory.models.importance import Importance


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model with everything needed to trust and reuse it.

    ``chosen`` is the winning configuration (regime config, hyperparameters, score);
    ``validation`` the fold ranges and scores and every candidate's mean score;
    ``metadata`` the id, fingerprint, data ranges and library versions. The chosen regime
    config says where the model was trained to trade: :meth:`predict` predicts every row
    and leaves applying it as a regime filter to the strategy.
    """

    estimator: Any
    features: tuple[str, ...]
    config: TrainingConfig
    chosen: dict[str, Any]
    validation: dict[str, Any]
    importance: Importance
    metadata: dict[str, Any]

    @property
    def id(self) -> str:
        """The model's unique id (a UUID4 hex)."""
        return str(self.metadata["id"])

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the training config that produced the model."""
        return str(self.metadata["fingerprint"])

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Predictions in the target's units for every row of ``features`` (any symbol).

        Columns are matched by name (order does not matter, extra columns are ignored);
        a row with a missing or infinite feature value gets NaN.
        """
        missing = [f for f in self.features if f not in features.columns]
        if missing:
            raise FactoryError(
                f"the feature frame lacks {', '.join(missing)}, which model {self.id} needs"
            )
        X = features.loc[:, list(self.features)].to_numpy(dtype=np.float64)
        complete = np.isfinite(X).all(axis=1)
        predictions = np.full(X.shape[0], np.nan)
        if complete.any():
            predictions[complete] = self.estimator.predict(X[complete])
        return predictions

    def folds_beating_baseline(self) -> int:
        """How many validation folds the chosen configuration scored above 0 in.

        0 is what a constant prediction scores (the R² of the mean; no correlation), so a
        model above it in no fold has shown no skill out of sample. An undefined score (a
        constant prediction has no IC) does not count as beating it.
        """
        return sum(
            1
            for fold in self.validation["folds"]
            if fold["score"] is not None and fold["score"] > 0
        )

    def summary(self) -> dict[str, Any]:
        """Metadata, chosen configuration, validation and importance as plain JSON values."""
        return {
            **self.metadata,
            "chosen": self.chosen,
            "validation": self.validation,
            "importance": {
                "method": self.importance.method,
                "scores": self.importance.scores,
                "note": self.importance.note,
            },
        }
