"""The understanding layer's steps of the learning cycle.

After the learning engine's own steps (forward tracking, meta-model, search, allocator,
monitor) a cycle run from the CLI or the server also:

- ``champions``: rolls back every champion the monitor has flagged (see
  :func:`~strategy_factory.understanding.champion.roll_back_flagged`);
- ``challengers``: judges again each challenge that was refused only for want of common
  forward bars, once forward tracking has recorded enough of them;
- ``queued_hypotheses``: tests the hypotheses queued since (``factory hypothesis test --queue``);
- ``diagnoses``: diagnoses the promotions made since the previous cycle began, on their
  holdouts, and states each verdict;
- ``audits``: audits the runs created since the previous cycle began;
- ``transfers``: states what each transfer run (a promoted genome tried on another symbol,
  :mod:`~strategy_factory.understanding.transfer`) that finished since then did there.

Each step returns its facts with a ``title`` and ``principles`` (sentences written from
the numbers), which the day's knowledge summary shows. A step works through at most
:data:`PER_CYCLE` subjects, newest first, and says how many it left for the next cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from strategy_factory.errors import FactoryError
from strategy_factory.learning.cycle import CycleStep
from strategy_factory.store import LearningCycle, Store
from strategy_factory.understanding.audit import audit_run
from strategy_factory.understanding.champion import (
    ChallengeRequest,
    challenge,
    forward_pair,
    roll_back_flagged,
)
from strategy_factory.understanding.diagnose import diagnose
from strategy_factory.understanding.hypotheses import run_queued
from strategy_factory.understanding.transfer import transfer_outcomes

log = logging.getLogger(__name__)

PER_CYCLE = 10
# The newest subjects read when deciding what is new (more than a cycle ever handles).
READ_LIMIT = 200


def understanding_steps(store: Store) -> Callable[[LearningCycle], Sequence[CycleStep]]:
    """The steps to add to a cycle (``extra_steps`` of ``run_cycle``/``execute_cycle``)."""

    def steps(cycle: LearningCycle) -> list[CycleStep]:
        since = previous_start(store, cycle)
        return [
            ("champions", lambda: champions(store)),
            ("challengers", lambda: retry_challenges(store)),
            ("queued_hypotheses", lambda: queued_hypotheses(store)),
            ("diagnoses", lambda: diagnose_new(store, since)),
            ("audits", lambda: audit_new(store, since)),
            ("transfers", lambda: transfer_outcomes(store, since)),
        ]

    return steps


def previous_start(store: Store, cycle: LearningCycle) -> datetime | None:
    """When the cycle before ``cycle`` began (None: this is the store's first)."""
    earlier = [c for c in store.cycles.recent(limit=2) if c.id != cycle.id]
    return earlier[0].started_at if earlier else None


def champions(store: Store) -> dict[str, Any]:
    """Roll back the flagged champions; what was rolled back, and why."""
    entries = roll_back_flagged(store)
    return {
        "title": "Champions",
        "rolled_back": [entry.slot for entry in entries],
        "principles": [f"{entry.slot}: {entry.reason}" for entry in entries],
    }


def retry_challenges(store: Store) -> dict[str, Any]:
    """Judge again the challenges refused for too few common forward bars, where the slot's
    champion and the challenger now share enough; the others wait, with their count."""
    latest: dict[tuple[str, str], Any] = {}
    for earlier in store.champions.challenges(limit=READ_LIMIT):  # newest first
        latest.setdefault((earlier.slot, earlier.challenger_id), earlier)
    judged, waiting, principles = [], [], []
    for (slot, challenger), earlier in latest.items():
        test = earlier.evidence.get("paired_test") or {}
        starved = test.get("degenerate") and test.get("bars", 0) < test.get("min_bars", 0)
        champion = store.champions.slot(slot)
        if (
            earlier.state != "rejected"
            or not starved
            or champion is None
            or champion.promotion_id == challenger
        ):
            continue
        request = ChallengeRequest(
            slot=slot,
            challenger=challenger,
            alpha=test["alpha"],
            min_effect=test["min_effect"],
            min_bars=test["min_bars"],
            by="learning-cycle",
        )
        bars = forward_pair(store, challenger, champion.promotion_id, request).bars
        if bars < request.min_bars:
            waiting.append({"challenge": earlier.id, "bars": bars, "needed": request.min_bars})
            continue
        try:
            outcome = challenge(store, request)
        except FactoryError as exc:  # e.g. the challenger was demoted meanwhile
            principles.append(f"Challenge {earlier.id} ({slot}) not judged again: {exc}")
            continue
        judged.append({"challenge": earlier.id, "outcome": outcome.outcome})
        principles.append(f"{slot}: {outcome.message}")
    return {
        "title": "Challengers judged again",
        "judged": judged,
        "waiting": waiting,
        "principles": principles,
    }


def queued_hypotheses(store: Store) -> dict[str, Any]:
    """Test the queued hypotheses (their principles join the summary's tested ones)."""
    done = run_queued(store, PER_CYCLE)
    return done | {
        "title": "Queued hypotheses",
        "principles": [
            *(f"{row['name']}: tested as #{row['hypothesis']}." for row in done["tested"]),
            *(f"{row['name']} could not be tested: {row['reason']}" for row in done["refused"]),
        ],
    }


def diagnose_new(store: Store, since: datetime | None) -> dict[str, Any]:
    """Diagnose the active promotions made since ``since`` (all, on the first cycle)."""
    new = [
        p
        for p in store.promoted.recent(limit=READ_LIMIT, status="active")
        if since is None or p.created_at >= since
    ]
    diagnosed, failed, principles = [], [], []
    for promotion in new[:PER_CYCLE]:
        try:
            found = diagnose(store, promotion.id)
        except Exception as exc:  # one subject's failure is reported; the others go on
            log.exception("diagnosing promotion %s failed", promotion.id)
            failed.append({"promotion_id": promotion.id, "error": _error(exc)})
            principles.append(f"Promotion {promotion.id} could not be diagnosed: {_error(exc)}")
            continue
        diagnosed.append(promotion.id)
        verdict = " ".join(found.get("verdict") or ["no verdict"])
        principles.append(f"Promotion {promotion.id} on its holdout: {verdict}")
    return {
        "title": "Diagnoses of new promotions",
        "diagnosed": diagnosed,
        "failed": failed,
        "left_for_next_cycle": max(len(new) - PER_CYCLE, 0),
        "principles": principles,
    }


def audit_new(store: Store, since: datetime | None) -> dict[str, Any]:
    """Audit the runs created since ``since`` (all, on the first cycle)."""
    new = [r for r in store.runs.recent(limit=READ_LIMIT) if since is None or r.created_at >= since]
    audited, principles = [], []
    for run in new[:PER_CYCLE]:
        try:
            report = audit_run(store, run.id)
        except Exception as exc:  # one subject's failure is reported; the others go on
            log.exception("auditing run %s failed", run.id)
            principles.append(f"Run {run.id} could not be audited: {_error(exc)}")
            continue
        audited.append({"run_id": run.id, **_counts(report.as_json())})
        principles += [
            f"Run {run.id} ({finding.subject}): {finding.consequence} Fix: {finding.fix}"
            for finding in report.findings
            if finding.severity == "error"
        ]
    return {
        "title": "Audits of new runs",
        "audited": audited,
        "left_for_next_cycle": max(len(new) - PER_CYCLE, 0),
        "principles": principles,
    }


def _error(exc: Exception) -> str:
    return str(exc) if isinstance(exc, FactoryError) else f"{type(exc).__name__}: {exc}"


def _counts(report: dict[str, Any]) -> dict[str, Any]:
    return {"errors": report["errors"], "warnings": report["warnings"]}
