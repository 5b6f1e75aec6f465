"""The understanding layer: why a strategy wins or loses, which ideas about the market
survive an honest test, new indicators, configurations that cannot work, and changes to
a live strategy made only with a backup, evidence and a way back.

It sits above the learning engine (it reads forward results and writes into the
knowledge base) and below the service and the CLI.
"""

from strategy_factory.understanding.diagnose import diagnose
from strategy_factory.understanding.diagnosis import Diagnosis, TradeInputs, diagnose_trades

__all__ = ["Diagnosis", "TradeInputs", "diagnose", "diagnose_trades"]
