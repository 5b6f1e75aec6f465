"""The learning layer: the factory learns from its own history.

Forward tracking of promoted strategies (paper trading on bars that arrive after the
promotion), an overfitting monitor that flags decay against what a promotion promised,
a capital allocator over the promoted strategies, a meta-model that predicts a genome's
out-of-sample fitness, a Bayesian genome search seeded by it, and the learning cycle that
runs them in order and writes a knowledge summary.
"""

from strategy_factory.learning.champions import Champion
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
from strategy_factory.learning.search import Proposal, propose
from strategy_factory.learning.space import Genome

__all__ = [
    "Champion",
    "ConfigurationKey",
    "ForwardOutcome",
    "Genome",
    "GenomeTable",
    "Launch",
    "MetaModel",
    "MetaModelResult",
    "Proposal",
    "TraitImportance",
    "configuration_key",
    "fit_meta_model",
    "genome_table",
    "launch",
    "propose",
    "train_meta_model",
]
