"""Models: training grids with purged walk-forward validation, importance, artifacts.

``train(features, target, regimes, config)`` searches a grid of hyperparameters × regime
configs, chooses on out-of-sample validation only, refits the winner and measures
feature importance; ``save_model`` / ``load_model`` keep the result on disk in a format
that cannot execute code when read (:mod:`.artifacts`).
"""

from strategy_factory.models.algorithms import (
    DEFAULT_ALPHAS,
    DEFAULT_L1_RATIOS,
    KNOWN,
    PenalizedRegression,
    fold_model,
)
from strategy_factory.models.artifacts import (
    LinearPredictor,
    load_model,
    model_from_bytes,
    model_from_text,
    model_to_bytes,
    model_to_text,
    save_model,
)
from strategy_factory.models.config import (
    DEFAULT_REGIME_CONFIGS,
    FINGERPRINT_VERSION,
    MAX_FEATURES,
    DataRange,
    Name,
    RegimeConfig,
    TargetSpec,
    TrainingConfig,
    WalkForward,
)
from strategy_factory.models.importance import METHODS, Importance
from strategy_factory.models.registry import TrainedModel
from strategy_factory.models.splits import Fold, walk_forward_folds
from strategy_factory.models.training import train

__all__ = [
    "DEFAULT_ALPHAS",
    "DEFAULT_L1_RATIOS",
    "DEFAULT_REGIME_CONFIGS",
    "FINGERPRINT_VERSION",
    "KNOWN",
    "MAX_FEATURES",
    "METHODS",
    "DataRange",
    "Fold",
    "Importance",
    "LinearPredictor",
    "Name",
    "PenalizedRegression",
    "RegimeConfig",
    "TargetSpec",
    "TrainedModel",
    "TrainingConfig",
    "WalkForward",
    "fold_model",
    "load_model",
    "model_from_bytes",
    "model_from_text",
    "model_to_bytes",
    "model_to_text",
    "save_model",
    "train",
    "walk_forward_folds",
]
