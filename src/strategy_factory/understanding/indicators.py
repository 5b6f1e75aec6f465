"""Indicator discovery against the store: load the bars, search, judge, record, explain.

A discovered indicator is the feature ``formula:<text>``: seed an evolution run with it
(``factory evolve --seed-feature 'formula:…'`` or ``seed_features`` in its YAML) and the
run computes it from the name alone.
"""

from __future__ import annotations

import uuid
from typing import Any

from strategy_factory.data import BarCatalog, normalize_symbol
from strategy_factory.errors import FactoryError
from strategy_factory.json_values import plain
from strategy_factory.settings import get_settings
from strategy_factory.store import IndicatorRecord, Store
from strategy_factory.understanding.discovery import Judged, SearchResult, discover
from strategy_factory.understanding.discovery_config import DiscoveryConfig
from strategy_factory.understanding.knowledge_entries import add_to_knowledge

MIN_BARS = 1_000


def run_discovery(
    store: Store, config: DiscoveryConfig, catalog: BarCatalog | None = None
) -> tuple[SearchResult, list[IndicatorRecord]]:
    """Search formulas on the config's symbol, record the judged survivors (and their
    principles in today's knowledge summary), return both."""
    catalog = catalog or BarCatalog(get_settings().bars_dir)
    bars = catalog.load(config.symbol, start=config.start, end=config.end)
    if len(bars) < MIN_BARS:
        raise FactoryError(
            f"{config.symbol} has {len(bars)} bars in the period; indicator discovery needs at "
            f"least {MIN_BARS:,} (training folds, then unseen bars to judge on)"
        )
    references = {normalize_symbol(r): catalog.load(r) for r in config.references}
    result = discover(bars, references, config)
    search_id = uuid.uuid4().hex[:12]
    rows = [_row(search_id, config, result, judged) for judged in result.judged]
    records = store.indicators.add(rows) if rows else []
    add_to_knowledge(store, indicators=records)
    return result, records


def _row(
    search_id: str, config: DiscoveryConfig, result: SearchResult, judged: Judged
) -> dict[str, Any]:
    candidate = judged.candidate
    return {
        "search_id": search_id,
        "formula": candidate.formula.name,
        "symbol": config.symbol,
        "train_ic": candidate.ic,
        "deflated": judged.deflated,
        "holdout_ic": judged.holdout_ic,
        "holdout_p": judged.holdout_p_sidak,
        "passed": judged.passed,
        "trials": result.trials,
        "detail": plain(
            {
                "fold_ics": list(candidate.fold_ics),
                "holdout_p_raw": judged.holdout_p,
                "judged": len(result.judged),
                "duplicates_of_features": result.duplicates_of_features,
                "training_bars": result.training_bars,
                "holdout_bars": result.holdout_bars,
                "config": config.model_dump(mode="json"),
            }
        ),
        "principle": indicator_principle(config, result, judged),
    }


def indicator_principle(config: DiscoveryConfig, result: SearchResult, judged: Judged) -> str:
    """What a person reads of one discovered indicator, from its numbers."""
    candidate = judged.candidate
    bars = f"{config.horizon}-bar"
    folds = ", ".join(f"{ic:+.3f}" for ic in candidate.fold_ics)
    said = (
        f"{candidate.formula.name} on {config.symbol}: rank IC {candidate.ic:+.3f} with the next "
        f"{bars} return on the training folds ({folds}), deflated for {result.trials:,} "
        f"formulas tried: {judged.deflated:.2f}"
    )
    if judged.holdout_ic is None:
        return f"{said}; not judged on unseen bars (too few defined values there): fails"
    verdict = "passes" if judged.passed else "fails"
    return (
        f"{said}; on {result.holdout_bars:,} unseen bars rank IC {judged.holdout_ic:+.3f} "
        f"(Šidák p = {judged.holdout_p_sidak:.3g} over {len(result.judged)} judged): {verdict}"
    )


def indicator_json(record: IndicatorRecord) -> dict[str, Any]:
    """What the CLI's ``--json`` and the API show of one indicator (non-finite as null)."""
    return plain(
        {
            **{k: getattr(record, k) for k in ("id", "search_id", "formula", "symbol")},
            **{k: getattr(record, k) for k in ("train_ic", "deflated", "holdout_ic")},
            "holdout_p_sidak": record.holdout_p,
            "passed": record.passed,
            "trials": record.trials,
            "principle": record.principle,
            "created_at": record.created_at.isoformat(),
            "detail": record.detail,
        }
    )
