"""The learning layer: the factory learns from its own history.

Forward tracking of promoted strategies (paper trading on bars that arrive after the
promotion), an overfitting monitor that flags decay against what a promotion promised,
a capital allocator over the promoted strategies, a meta-model that predicts a genome's
out-of-sample fitness, a Bayesian genome search seeded by it, and the learning cycle that
runs them in order and writes a knowledge summary.
"""

from strategy_factory.learning.allocation_diff import AllocationDiff, diff, one_way_turnover
from strategy_factory.learning.allocator import Allocation, AllocatorSettings, allocate
from strategy_factory.learning.forward import (
    ForwardReport,
    PromotionUpdate,
    forward_results,
    forward_returns,
    forward_summary,
    update_forward,
)
from strategy_factory.learning.forward_window import WARM_UP_BARS
from strategy_factory.learning.fund import VirtualFund, virtual_fund
from strategy_factory.learning.monitor import (
    MonitorResult,
    MonitorSettings,
    Promise,
    monitor,
)

__all__ = [
    "WARM_UP_BARS",
    "Allocation",
    "AllocationDiff",
    "AllocatorSettings",
    "ForwardReport",
    "MonitorResult",
    "MonitorSettings",
    "Promise",
    "PromotionUpdate",
    "VirtualFund",
    "allocate",
    "diff",
    "forward_results",
    "forward_returns",
    "forward_summary",
    "monitor",
    "one_way_turnover",
    "update_forward",
    "virtual_fund",
]
