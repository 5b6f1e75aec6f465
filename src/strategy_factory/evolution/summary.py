"""What a run did, read back from the store: per generation, the best result and the verdict.

Everything here is derived from recorded rows, so a finished, failed or still-running run
(and one resumed after a crash) is summarized the same way by the CLI, the API and the
report.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from strategy_factory.evolution.config import EvolveConfig
from strategy_factory.evolution.promotion import rank_key
from strategy_factory.evolution.simulation import IDENTICAL_NOTE, TOO_FEW_TRADES_NOTE
from strategy_factory.store import LineageEdge, Run, SimulationResult, Store, run_json
from strategy_factory.store.simulations import STRATEGY_FIELDS

# The metrics a verdict shows of the best configuration, on each period.
SHOWN_METRICS = ("trades", "sqn_100", "sqn", "profit_factor", "weekly_consistency", "sharpe")


def result_json(result: SimulationResult | None) -> dict[str, Any] | None:
    """One simulation result (strategy and metrics) as plain JSON values."""
    if result is None:
        return None
    data = asdict(result)
    data["created_at"] = result.created_at.isoformat()
    return data


def generations(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Per generation: the model, its features, what was pruned, the selection result of
    the configuration it was judged by, and that configuration's holdout judgement."""
    rows = []
    finished = store.runs.get(run_id).finished_at is not None
    for edge in store.lineage.of_run(run_id):
        holdout = store.simulations.top(
            run_id, model_id=edge.child_model_id, period="holdout", limit=1
        )
        state, note = _state(store, edge, bool(holdout), finished)
        rows.append(
            {
                "generation": edge.generation,
                "state": state,
                "note": note,
                "model_id": edge.child_model_id,
                "parent_model_id": edge.parent_model_id,
                "parent_sqn": edge.parent_sqn,
                "features": len(edge.remaining_features),
                "remaining_features": edge.remaining_features,
                "pruned_features": edge.pruned_features,
                "reason": edge.reason,
                "simulations": store.simulations.count(
                    run_id, model_id=edge.child_model_id, period="selection"
                ),
                "best_selection": result_json(
                    store.simulations.find(
                        run_id, edge.child_model_id, "selection", asdict(holdout[0])
                    )
                    if holdout
                    else None
                ),
                "holdout": result_json(holdout[0] if holdout else None),
            }
        )
    return rows


def _state(store: Store, edge: LineageEdge, judged: bool, finished: bool) -> tuple[str, str]:
    """What became of a generation, and why in words.

    ``judged`` (simulated and judged on the holdout), ``no_signal`` (its model ranks
    nothing: the lineage stopped), ``too_few_trades`` (simulated, but no configuration
    traded often enough to be judged), ``same_as_parent`` (it predicts what its parent
    did, so its strategies were not simulated again), ``pending``, or ``not_simulated``
    (the run ended first, e.g. at an earlier promotion).
    """
    if judged:
        return "judged", ""
    signal = (store.models.get(edge.child_model_id).validation_metrics or {}).get("signal") or {}
    reason = edge.reason or ""
    if signal and not signal.get("usable", True):
        return "no_signal", f"no signal: {signal.get('description', '')}"
    if "no signal" in reason:
        return "no_signal", reason.split("; ")[-1]
    if TOO_FEW_TRADES_NOTE in reason:
        return "too_few_trades", next(p for p in reason.split("; ") if TOO_FEW_TRADES_NOTE in p)
    if IDENTICAL_NOTE in reason:
        return "same_as_parent", IDENTICAL_NOTE
    if finished:
        return "not_simulated", "not simulated: the run ended before"
    return "pending", "not simulated yet"


def run_summary(store: Store, run_id: str) -> dict[str, Any]:
    """The run, its generations, its promotions, its best configuration and the verdict
    (a sentence, and the same in parts: see :func:`verdict_detail`)."""
    run = store.runs.get(run_id)
    per_generation = generations(store, run_id)
    promoted = [
        {
            "id": p.id,
            "model_id": p.model_id,
            "strategy": p.strategy,
            "holdout_metrics": p.holdout_metrics,
            "dsr": p.dsr,
            "pbo": p.pbo,
            "configurations_tried": p.configurations_tried,
        }
        for p in store.promoted.recent(run_id=run_id)
    ]
    detail = verdict_detail(run, per_generation)
    return {
        "run": run_json(run),
        "config": run.config,
        "generations": per_generation,
        "promoted": promoted,
        "best": detail["best"],
        "verdict": detail["text"],
        "verdict_detail": detail,
    }


def ranking_of(run: Run) -> str:
    """The run's ranking key (``sqn_100`` or ``sharpe``), as its config chose it."""
    return EvolveConfig.load(run.config["evolve"]).ranking


def best_generation(per_generation: list[dict[str, Any]], ranking: str) -> dict[str, Any] | None:
    """The generation whose judged configuration is the run's best: promoted first, then
    candidates, then by the run's ranking key (the key the gate ranks by). The one place
    that says which configuration is "best"; the engine keeps the same on the run row."""
    judged = [g for g in per_generation if g["holdout"] and g["best_selection"]]
    if not judged:
        return None

    def key(g: dict[str, Any]) -> tuple[Any, ...]:
        metrics = g["holdout"]["metrics"]
        selection = g["best_selection"]
        flat = {**selection.get("metrics", {}), **selection}
        promoted, candidate = bool(metrics.get("promoted")), bool(metrics.get("candidate"))
        return (promoted, candidate, *rank_key(flat, ranking), -g["generation"])

    return max(judged, key=key)


def verdict_detail(run: Run, per_generation: list[dict[str, Any]]) -> dict[str, Any]:
    """The verdict in parts: ``state`` (running, promoted, not_promoted, failed, stopped),
    ``text`` (one sentence), ``best`` (the best judged configuration and what it missed),
    ``misses`` (each missed criterion once, with the generations that missed it and the
    closest value) and ``not_judged`` (generations that were not, and why)."""
    ranking = ranking_of(run)
    chosen = best_generation(per_generation, ranking)
    best = None if chosen is None else _best_json(chosen, ranking)
    misses = _grouped_misses(per_generation)
    not_judged = [
        {"generation": g["generation"], "state": g["state"], "note": g["note"]}
        for g in per_generation
        if g["state"] != "judged"
    ]
    state, text = _verdict_text(run, best, misses, not_judged, per_generation)
    return {
        "state": state,
        "text": text,
        "ranked_by": ranking,
        "best": best,
        "misses": misses,
        "not_judged": not_judged,
    }


def _best_json(g: dict[str, Any], ranking: str) -> dict[str, Any]:
    selection, holdout = g["best_selection"], g["holdout"]
    metrics = holdout["metrics"]
    return {
        "generation": g["generation"],
        "model_id": g["model_id"],
        "ranked_by": ranking,
        "strategy": {k: selection[k] for k in STRATEGY_FIELDS},
        "candidate": bool(metrics.get("candidate")),
        "promoted": bool(metrics.get("promoted")),
        "selection": {k: selection.get(k) for k in SHOWN_METRICS},
        "holdout": {k: holdout.get(k) for k in SHOWN_METRICS},
        "misses": metrics.get("misses") or [],
        "reason": metrics.get("reason"),
    }


def _grouped_misses(per_generation: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each (period, metric, side) missed by a judged generation once: in how many
    generations, and the value closest to the bound."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for g in per_generation:
        if not g["holdout"]:
            continue
        for miss in g["holdout"]["metrics"].get("misses") or []:
            side = _side(miss)
            group = groups.setdefault(
                (miss["period"], miss["metric"], side),
                {
                    "period": miss["period"],
                    "metric": miss["metric"],
                    "side": side,
                    "bound": miss["min"] if side == "below" else miss["max"],
                    "generations": [],
                    "closest": None,
                },
            )
            group["generations"].append(g["generation"])
            if _closer(miss, group):
                group["closest"] = miss
    return [
        {
            "period": group["period"],
            "metric": group["metric"],
            "generations": group["generations"],
            "closest": group["closest"]["value"],
            "text": group["closest"]["text"],
        }
        for group in groups.values()
    ]


def _side(miss: dict[str, Any]) -> str:
    value = miss["value"]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "undefined"
    if miss["min"] is not None and value < miss["min"]:
        return "below"
    return "above"


def _closer(miss: dict[str, Any], group: dict[str, Any]) -> bool:
    current = group["closest"]
    if current is None:
        return True
    if group["side"] == "undefined":
        return False
    return abs(miss["value"] - group["bound"]) < abs(current["value"] - group["bound"])


def _verdict_text(
    run: Run,
    best: dict[str, Any] | None,
    misses: list[dict[str, Any]],
    not_judged: list[dict[str, Any]],
    per_generation: list[dict[str, Any]],
) -> tuple[str, str]:
    if run.status == "failed":
        return "failed", f"failed: {run.error}"
    if best is not None and best["promoted"]:
        return "promoted", (
            f"promoted as {run.promotion_id} (generation {best['generation']}, model "
            f"{best['model_id']})"
        )
    if run.status in ("pending", "running"):
        so_far = "" if best is None else f"; best so far: {_describe(best)}"
        return "running", f"{run.status}: no verdict yet{so_far}"
    prefix = "stopped by the user, not promoted" if run.status == "stopped" else "not promoted"
    if best is None:
        return "not_promoted", f"{prefix}: {_nothing_judged(not_judged, per_generation)}"
    judged = sum(1 for g in per_generation if g["holdout"])
    across = "; ".join(_clause(m, judged) for m in misses)
    text = f"{prefix}: the best, {_describe(best)}, {_missed(best)}"
    if judged > 1 and across:
        text += f". Across the {judged} judged generations: {across}"
    return "not_promoted", text


def _describe(best: dict[str, Any]) -> str:
    selection = best["selection"]
    label = "SQN-100" if best["ranked_by"] == "sqn_100" else "Sharpe"
    score = selection.get(best["ranked_by"])
    shown = "undefined" if score is None else f"{score:.3g}"
    return (
        f"generation {best['generation']} (model {best['model_id'][:12]}, selection {label} "
        f"{shown} with {selection.get('trades')} trades)"
    )


def _missed(best: dict[str, Any]) -> str:
    briefs = ", ".join(m["text"] for m in best["misses"])
    if not best["candidate"]:
        return f"was not a candidate on the selection period: {briefs}"
    return f"was a candidate but missed on the holdout: {briefs}"


def _clause(miss: dict[str, Any], judged: int) -> str:
    count = len(miss["generations"])
    return f"{miss['period']} {miss['text']} ({count} of {judged}, closest shown)"


def _nothing_judged(not_judged: list[dict[str, Any]], per_generation: list[dict[str, Any]]) -> str:
    for state in ("too_few_trades", "no_signal"):
        found = [g for g in not_judged if g["state"] == state]
        if found:
            which = ", ".join(str(g["generation"]) for g in found)
            return f"nothing was judged on the holdout; generation {which}: {found[0]['note']}"
    if not per_generation:
        return "no generation was recorded"
    return "nothing was judged on the holdout"
