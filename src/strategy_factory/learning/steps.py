"""The meta-model and search steps of the learning cycle, as the CLI and the API run them.

:func:`retrain` trains the meta-model on the whole store (forward results replace the
holdout of promotions with enough forward bars) and stores the version with its metrics
and the importance of each genome trait. :func:`search` asks the genome search for
proposals scored by the newest stored meta-model and, when told to, records them as
evolution runs tagged with their origin; ``on_launch`` lets the server drive them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
import pandas as pd

from strategy_factory.json_values import plain
from strategy_factory.learning.forward import forward_summary
from strategy_factory.learning.genome import ForwardOutcome, configuration_key
from strategy_factory.learning.launch import launch
from strategy_factory.learning.metamodel import MetaModel, train_meta_model
from strategy_factory.learning.search import propose
from strategy_factory.learning.settings import LearningSettings
from strategy_factory.store import MetaModelRecord, Store

ALGORITHM = "lightgbm"
# The regressor whose traits the summary and the dashboard show: the one that reads genome
# traits alone (the other also reads selection-period metrics).
TRAITS_OF = "genome"


# Targets forward tracking reports (forward_summary); for the others the holdout stays.
FORWARD_TARGETS = ("sharpe", "total_return")


def forward_outcomes(store: Store, settings: LearningSettings) -> dict[Any, ForwardOutcome]:
    """Forward results of the promotions with at least ``min_forward_bars`` forward bars,
    as the meta-model's targets (the target metric over their forward bars)."""
    target = settings.meta_model.target
    outcomes: dict[Any, ForwardOutcome] = {}
    if target not in FORWARD_TARGETS:
        return outcomes
    for promotion in store.promoted.recent(limit=None):
        summary = forward_summary(store, promotion.id)
        if summary["bars"] < settings.meta_model.min_forward_bars:
            continue
        value = summary[target]
        if value is None:
            continue
        last = pd.Timestamp(summary["last"]).to_pydatetime()
        outcomes[configuration_key(promotion)] = ForwardOutcome(float(value), last)
    return outcomes


def retrain(store: Store, settings: LearningSettings) -> dict[str, Any]:
    """Train the meta-model and store it; what the summary says of it."""
    options = settings.meta_model
    forward = forward_outcomes(store, settings)
    result = train_meta_model(
        store,
        target=options.target,
        forward=forward,
        folds=options.folds,
        min_runs=options.min_runs,
        min_rows=options.min_rows,
    )
    if result.model is None:
        return {
            "state": "not_enough_history",
            "reason": result.reason,
            "rows": result.rows,
            "runs": result.runs,
        }
    model = result.model
    record = store.meta_models.add(
        algorithm=ALGORITHM,
        artifact=model.to_bytes(),
        metrics=model.metrics,
        importance={"traits": traits(model), "regressors": model.importance_json()},
        training={
            "version": model.version,
            "target": model.target,
            "rows": result.rows,
            "runs": result.runs,
            "forward_targets": len(forward),
            "skipped": result.skipped,
            "seen_until": model.seen_until,
        },
    )
    return meta_model_facts(record)


def traits(model: MetaModel) -> list[dict[str, Any]]:
    """The genome traits by importance (drop in out-of-fold ρ when shuffled), with their
    direction (ρ of the trait with the prediction) or, for categories, the best level."""
    return plain(
        [
            {
                "trait": item.trait,
                "group": item.group,
                "importance": item.permutation,
                "gain": item.gain,
                "direction": item.direction,
                "best": item.best,
            }
            for item in sorted(model.importance[TRAITS_OF], key=lambda i: -i.permutation)
        ]
    )


def meta_model_facts(record: MetaModelRecord) -> dict[str, Any]:
    """What the knowledge summary says of a stored meta-model version."""
    metrics = record.metrics
    models = metrics.get("models", {})
    baselines = metrics.get("baselines", {})
    return {
        "state": "trained",
        "version": record.version,
        "algorithm": record.algorithm,
        "target": metrics.get("target"),
        "rows": metrics.get("rows"),
        "runs": metrics.get("runs"),
        "scores": {
            "model": models.get("full", {}).get("spearman"),
            "genome": models.get("genome", {}).get("spearman"),
            "selection_only": baselines.get("selection", {}).get("spearman"),
            "random": baselines.get("random", {}).get("p95"),
        },
        "beats_baselines": metrics.get("beats_baselines"),
        "traits": record.importance.get("traits", []),
    }


def latest_meta_model(store: Store) -> MetaModel | None:
    """The newest stored meta-model, read from its safe artifact (None before the first)."""
    record = store.meta_models.latest()
    if record is None:
        return None
    return MetaModel.from_bytes(store.meta_models.artifact(record.version))


def search(
    store: Store,
    settings: LearningSettings,
    on_launch: Callable[[str], object] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Ask the genome search for proposals and launch the kept ones (when told to)."""
    options = settings.search
    if not options.enabled:
        return {"state": "skipped", "reason": "the search is turned off in the settings"}
    model = latest_meta_model(store)
    if model is None:
        return {"state": "skipped", "reason": "no meta-model yet to score proposals"}
    sampler = optuna.samplers.RandomSampler(seed=seed) if options.sampler == "random" else None
    proposals = propose(
        store, model, options.keep, candidates=options.candidates, seed=seed, sampler=sampler
    )
    facts: dict[str, Any] = {
        "state": "proposed",
        "proposed": options.candidates,
        "kept": [proposal.as_json() for proposal in proposals],
        "launched": [],
        "not_launched": [],
    }
    if not options.launch:
        return plain(facts)
    for done in launch(store, proposals):
        if done.run is None:
            facts["not_launched"].append({"trial": done.proposal.trial, "reason": done.reason})
            continue
        facts["launched"].append(
            {
                "run_id": done.run.id,
                "score": done.proposal.score,
                "genome": _genome_text(done.proposal.genome.as_json()),
                "prior_trials": done.proposal.prior_trials,
            }
        )
        if on_launch is not None:
            on_launch(done.run.id)
    return plain(facts)


def _genome_text(genome: dict[str, Any]) -> str:
    return ", ".join(
        f"{key} {'+'.join(value) if isinstance(value, list) else value}"
        for key, value in genome.items()
    )
