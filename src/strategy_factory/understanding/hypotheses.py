"""Hypothesis tests: run a :class:`HypothesisSpec` as an event study on stored bars, correct it
with every hypothesis the store has ever tested, and state the principle from the numbers.

The correction is Benjamini–Hochberg (``scipy.stats.false_discovery_control``) over the
whole family — each test ever recorded with enough events — so every new idea tested
raises the bar for the next. A hypothesis is **confirmed** when its BH-adjusted p-value
is at most the false discovery rate (:data:`FDR`, 5%).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from strategy_factory.data import BarCatalog, normalize_symbol
from strategy_factory.errors import FactoryError
from strategy_factory.evolution.prepare import default_training_bars
from strategy_factory.features import build_feature_matrix, label_regimes, make_target
from strategy_factory.features.rolling import rolling_zscore
from strategy_factory.json_values import plain
from strategy_factory.settings import get_settings
from strategy_factory.store import HypothesisRecord, QueuedHypothesis, Store
from strategy_factory.understanding.event_study import (
    EventStudy,
    event_positions,
    event_study,
    signed_outcomes,
)
from strategy_factory.understanding.hypothesis_spec import (
    HypothesisSpec,
    RegimeCondition,
    load_hypotheses,
)
from strategy_factory.understanding.knowledge_entries import add_to_knowledge

FDR = 0.05


@dataclass(frozen=True)
class HypothesisResult:
    """A spec and its event study, before the family's correction."""

    spec: HypothesisSpec
    study: EventStudy
    bars: int


def run_event_study(
    spec: HypothesisSpec, bars: pd.DataFrame, references: Mapping[str, pd.DataFrame]
) -> HypothesisResult:
    """The event study of ``spec`` on ``bars`` (already restricted to its period).

    Regime labelers are fitted on the first 60% of the bars (a run's training share) and
    label every bar causally; the z-score of the feature uses bars up to each bar's close.
    """
    feature = build_feature_matrix(bars, references, [spec.feature])[spec.feature].to_numpy()
    signal = feature if spec.k is None else rolling_zscore(feature, spec.z_window)
    forward = make_target(bars, "log_return", spec.horizon).to_numpy(dtype=np.float64)
    eligible = np.ones(len(bars), dtype=bool)
    if spec.regime is not None:
        eligible = _in_regime(spec.name, spec.regime, bars, references)
    positions = event_positions(signal, forward, eligible, spec.k, spec.side, spec.horizon)
    outcomes = signed_outcomes(signal, forward, positions, spec.expect)
    study = event_study(outcomes, spec.bootstrap_reps, spec.seed, spec.min_events)
    return HypothesisResult(spec, study, len(bars))


def _in_regime(
    name: str,
    regime: RegimeCondition,
    bars: pd.DataFrame,
    references: Mapping[str, pd.DataFrame],
) -> np.ndarray:
    training = default_training_bars(bars.index)
    if len(training) < 2:
        raise FactoryError(f"{name}: too few bars to fit the regime labeler on")
    labels = label_regimes(bars, references, train_end=training[-1])
    if regime.labeler not in labels.columns:
        raise FactoryError(
            f"{name}: regime {regime.labeler} needs its reference "
            "(regime_vix needs references: [VIX])"
        )
    return np.isin(labels[regime.labeler].to_numpy(), regime.labels)


def load_inputs(
    spec: HypothesisSpec, catalog: BarCatalog | None = None
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The stored bars of the spec's symbol (in its period) and of its references."""
    catalog = catalog or BarCatalog(get_settings().bars_dir)
    bars = catalog.load(spec.symbol, start=spec.start, end=spec.end)
    if len(bars) < spec.z_window + spec.min_events:
        raise FactoryError(
            f"{spec.name}: {spec.symbol} has {len(bars)} bars in the period, too few for a "
            f"{spec.z_window}-bar z-score and {spec.min_events} events; widen the period"
        )
    references = {normalize_symbol(r): catalog.load(r) for r in spec.references}
    return bars, references


def run_hypotheses(
    store: Store, specs: Sequence[HypothesisSpec], catalog: BarCatalog | None = None
) -> list[HypothesisRecord]:
    """Run each spec, correct over the store's whole family, record them (and their principles
    in today's knowledge summary) and return them.

    Every spec is checked against its data before anything is recorded: a mistake in
    one records none.
    """
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise FactoryError("two hypotheses share a name; give each its own")
    results = [run_event_study(spec, *load_inputs(spec, catalog)) for spec in specs]
    records = store.hypotheses.add(lambda family: _settle(results, family))
    add_to_knowledge(store, hypotheses=records)
    return records


def queue_hypotheses(
    store: Store, specs: Sequence[HypothesisSpec], by: str
) -> list[QueuedHypothesis]:
    """Queue the specs for the next learning cycle (checked now, tested then)."""
    if not 1 <= len(by) <= 128:
        raise FactoryError(f"who queues them is 1 to 128 characters, got {len(by)}")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise FactoryError("two hypotheses share a name; give each its own")
    return store.hypotheses.enqueue([s.model_dump(mode="json") for s in specs], by)


def run_queued(store: Store, limit: int, catalog: BarCatalog | None = None) -> dict[str, Any]:
    """Test up to ``limit`` queued hypotheses, oldest first, each on its own (a mistake in
    one, such as a symbol without bars, is reported and leaves the others alone), and
    remove them from the queue; what was tested, refused and left. The tested ones join
    the family and the day's summary like any test."""
    queued = store.hypotheses.queued(limit=limit)
    tested, refused = [], []
    for item in queued:
        try:
            [record] = run_hypotheses(store, load_hypotheses(item.spec), catalog)
        except FactoryError as exc:
            refused.append(
                {
                    "queued": item.id,
                    "name": item.name,
                    "queued_by": item.queued_by,
                    "reason": str(exc),
                }
            )
        else:
            tested.append(
                {
                    "queued": item.id,
                    "hypothesis": record.id,
                    "name": record.name,
                    "queued_by": item.queued_by,
                }
            )
        store.hypotheses.dequeue(item.id)
    return {
        "tested": tested,
        "refused": refused,
        "left_for_next_cycle": len(store.hypotheses.queued()),
    }


def _settle(results: list[HypothesisResult], family: list[float]) -> list[dict[str, Any]]:
    new = [r.study.p_value for r in results if r.study.p_value is not None]
    everything = [*family, *new]
    adjusted = list(false_discovery_control(everything)) if everything else []
    fresh = iter(adjusted[len(family) :])
    rows = []
    for result in results:
        study = result.study
        adjusted_p = float(next(fresh)) if study.p_value is not None else None
        rows.append(
            {
                "name": result.spec.name,
                "symbol": result.spec.symbol,
                "spec": result.spec.model_dump(mode="json"),
                "state": study.state,
                "events": study.events,
                "effect": study.effect,
                "hit_rate": study.hit_rate,
                "ci_low": study.ci_low,
                "ci_high": study.ci_high,
                "p_value": study.p_value,
                "adjusted_p": adjusted_p,
                "family_size": len(everything),
                "principle": principle(result, adjusted_p, len(everything)),
            }
        )
    return rows


def adjusted_now(records: Sequence[HypothesisRecord]) -> dict[int, float]:
    """Each tested record's BH-adjusted p-value over the family as it stands now."""
    tested = [r for r in records if r.p_value is not None]
    if not tested:
        return {}
    adjusted = false_discovery_control([r.p_value for r in tested])
    return {r.id: float(p) for r, p in zip(tested, adjusted, strict=True)}


def _condition(spec: HypothesisSpec) -> str:
    if spec.k is None:
        what = f"the sign of {spec.feature}"
    else:
        side = {"above": "above +", "below": "below −", "beyond": "beyond ±"}[spec.side]
        what = f"moves of {spec.feature} {side}{spec.k:g}σ ({spec.z_window}-bar z-score)"
    if spec.regime is not None:
        labels = ", ".join(str(label) for label in spec.regime.labels)
        what += f" in {spec.regime.labeler} {labels}"
    return f"{what} on {spec.symbol}"


def _outcome(spec: HypothesisSpec) -> str:
    bars = f"{spec.horizon} bar{'s' if spec.horizon > 1 else ''}"
    moved = {
        "up": "rose",
        "down": "fell",
        "with": "continued" if spec.k is not None else "followed it",
        "against": "reversed" if spec.k is not None else "went against it",
    }[spec.expect]
    return f"{moved} within {bars}"


def principle(result: HypothesisResult, adjusted_p: float | None, family_size: int) -> str:
    """The sentence a person reads, stated from the numbers."""
    spec, study = result.spec, result.study
    if study.p_value is None or adjusted_p is None:
        return (
            f"{_condition(spec)}: only {study.events} non-overlapping events in "
            f"{result.bars} bars (at least {spec.min_events} needed): not tested, "
            "left out of the family"
        )
    verdict = "confirmed" if adjusted_p <= FDR else "not confirmed"
    return (
        f"{_condition(spec)}: the return {_outcome(spec)} in {study.hit_rate:.0%} of "
        f"{study.events} events (mean {study.effect:+.3%}, 95% CI [{study.ci_low:+.3%}, "
        f"{study.ci_high:+.3%}]; p = {study.p_value:.3g}, BH-adjusted p = {adjusted_p:.3g} "
        f"over {family_size} {'hypothesis' if family_size == 1 else 'hypotheses'}): "
        f"{verdict} at FDR {FDR:.0%}"
    )


def hypothesis_json(record: HypothesisRecord, adjusted: Mapping[int, float]) -> dict[str, Any]:
    """What the CLI's ``--json`` and the API show of one test (non-finite numbers as null)."""
    document = {
        **{k: getattr(record, k) for k in ("id", "name", "symbol", "state", "events")},
        **{k: getattr(record, k) for k in ("effect", "hit_rate", "ci_low", "ci_high")},
        "p_value": record.p_value,
        "adjusted_p_at_test": record.adjusted_p,
        "family_size_at_test": record.family_size,
        "adjusted_p_now": adjusted.get(record.id),
        "confirmed_now": adjusted.get(record.id, 1.0) <= FDR,
        "principle": record.principle,
        "created_at": record.created_at.isoformat(),
        "spec": record.spec,
    }
    return plain(document)
