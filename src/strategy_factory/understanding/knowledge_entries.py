"""Principles into the knowledge base: the day's summary gains the hypotheses tested and the
indicators discovered that day, each as the sentence stated from its numbers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from strategy_factory.learning.knowledge import render_knowledge
from strategy_factory.store import HypothesisRecord, IndicatorRecord, KnowledgeEntry, Store


def add_to_knowledge(
    store: Store,
    hypotheses: Sequence[HypothesisRecord] = (),
    indicators: Sequence[IndicatorRecord] = (),
    period: str | None = None,
) -> KnowledgeEntry:
    """Append these principles to ``period``'s summary (default today, UTC) and rewrite it."""
    period = period or datetime.now(UTC).date().isoformat()
    facts = store.knowledge.get(period).facts if period in store.knowledge.periods() else {}
    facts = dict(facts)
    facts["hypotheses"] = [
        *facts.get("hypotheses", []),
        *({"id": h.id, "name": h.name, "principle": h.principle} for h in hypotheses),
    ]
    facts["indicators"] = [
        *facts.get("indicators", []),
        *({"id": i.id, "formula": i.formula, "principle": i.principle} for i in indicators),
    ]
    return store.knowledge.write(period, render_knowledge(period, facts), facts)
