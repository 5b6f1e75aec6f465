"""Features: the indicator library, reference-symbol features, regime labelers, targets."""

from strategy_factory.features.volatility import volatility_zscore

__all__ = ["volatility_zscore"]
