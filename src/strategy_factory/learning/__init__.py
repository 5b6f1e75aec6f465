"""The learning layer: the factory learns from its own history.

Forward tracking of promoted strategies (paper trading on bars that arrive after the
promotion), an overfitting monitor that flags decay against what a promotion promised,
a capital allocator over the promoted strategies, a meta-model that predicts a genome's
out-of-sample fitness, a Bayesian genome search seeded by it, and the learning cycle that
runs them in order and writes a knowledge summary.
"""

from strategy_factory.learning.allocation_diff import AllocationDiff, diff, one_way_turnover
from strategy_factory.learning.allocator import Allocation, AllocatorSettings, allocate
from strategy_factory.learning.champions import Champion
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
from strategy_factory.learning.genome import (
    ConfigurationKey,
    ForwardOutcome,
    GenomeTable,
    configuration_key,
    genome_table,
)
from strategy_factory.learning.launch import Launch, launch
from strategy_factory.learning.metamodel import (
    MetaModel,
    MetaModelResult,
    TraitImportance,
    fit_meta_model,
    train_meta_model,
)
from strategy_factory.learning.monitor import (
    MonitorResult,
    MonitorSettings,
    Promise,
    monitor,
)
from strategy_factory.learning.search import Proposal, propose
from strategy_factory.learning.space import Genome

__all__ = [
    "WARM_UP_BARS",
    "Allocation",
    "AllocationDiff",
    "AllocatorSettings",
    "Champion",
    "ConfigurationKey",
    "ForwardOutcome",
    "ForwardReport",
    "Genome",
    "GenomeTable",
    "Launch",
    "MetaModel",
    "MetaModelResult",
    "MonitorResult",
    "MonitorSettings",
    "Promise",
    "PromotionUpdate",
    "Proposal",
    "TraitImportance",
    "VirtualFund",
    "allocate",
    "configuration_key",
    "diff",
    "fit_meta_model",
    "forward_results",
    "forward_returns",
    "forward_summary",
    "genome_table",
    "launch",
    "monitor",
    "one_way_turnover",
    "propose",
    "train_meta_model",
    "update_forward",
    "virtual_fund",
]
