"""Features: the indicator library, reference-symbol features, regime labelers, targets.

Everything here is causal: a feature or regime label at bar ``t`` uses only bars up to
the close of ``t`` (and, for a regime model, parameters fitted on a training window).
"""

from strategy_factory.features.hmm import HMMRegimes
from strategy_factory.features.labeler import UNDEFINED, RegimeLabeler
from strategy_factory.features.matrix import (
    STATIC_FEATURES,
    available_features,
    build_feature_matrix,
    drop_warm_up,
    feature_descriptions,
)
from strategy_factory.features.reference import align_reference
from strategy_factory.features.regimes import (
    GMMRegimes,
    TrendVolRegimes,
    VIXRegimes,
    default_labelers,
    label_regimes,
)
from strategy_factory.features.targets import TRANSFORMS, make_target
from strategy_factory.features.volatility import log_returns, rolling_volatility, volatility_zscore

__all__ = [
    "STATIC_FEATURES",
    "TRANSFORMS",
    "UNDEFINED",
    "GMMRegimes",
    "HMMRegimes",
    "RegimeLabeler",
    "TrendVolRegimes",
    "VIXRegimes",
    "align_reference",
    "available_features",
    "build_feature_matrix",
    "default_labelers",
    "drop_warm_up",
    "feature_descriptions",
    "label_regimes",
    "log_returns",
    "make_target",
    "rolling_volatility",
    "volatility_zscore",
]
