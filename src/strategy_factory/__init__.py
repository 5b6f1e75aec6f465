"""Strategy Factory: finds trading strategies automatically and honestly."""

from strategy_factory.errors import FactoryError, NotFoundError

__version__ = "0.1.0"

__all__ = ["FactoryError", "NotFoundError", "__version__"]
