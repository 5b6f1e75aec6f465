"""What a run did, read back from the store: per generation, the best result and the verdict.

Everything here is derived from recorded rows, so a finished, failed or still-running run
(and one resumed after a crash) is summarized the same way by the CLI, the API and the
report.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from strategy_factory.evolution.simulation import IDENTICAL_NOTE
from strategy_factory.store import LineageEdge, Run, SimulationResult, Store

RUN_FIELDS = (
    "id",
    "status",
    "symbol",
    "algorithm",
    "created_at",
    "started_at",
    "finished_at",
    "current_generation",
    "max_generations",
    "models_trained",
    "models_total",
    "simulations_completed",
    "simulations_total",
    "step_status",
    "best_sqn",
    "best_model_id",
    "promoted",
    "promoted_model_id",
    "configurations_tried",
    "stop_reason",
    "error",
    "owner_id",
)


def run_json(run: Run) -> dict[str, Any]:
    """The run's progress and outcome as plain JSON values."""
    data = {name: getattr(run, name) for name in RUN_FIELDS}
    for name in ("created_at", "started_at", "finished_at"):
        data[name] = None if data[name] is None else data[name].isoformat()
    # A running run whose driver stopped heartbeating: nobody will move it on by itself.
    data["abandoned"] = run.abandoned()
    return data


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
    nothing: the lineage stopped), ``same_as_parent`` (it predicts what its parent did,
    so its strategies were not simulated again), ``pending``, or ``not_simulated`` (the
    run ended first, e.g. at an earlier promotion).
    """
    if judged:
        return "judged", ""
    signal = (store.models.get(edge.child_model_id).validation_metrics or {}).get("signal") or {}
    if signal and not signal.get("usable", True):
        return "no_signal", f"no signal: {signal.get('description', '')}"
    if "no signal" in (edge.reason or ""):
        return "no_signal", (edge.reason or "").split("; ")[-1]
    if IDENTICAL_NOTE in (edge.reason or ""):
        return "same_as_parent", IDENTICAL_NOTE
    if finished:
        return "not_simulated", "not simulated: the run ended before"
    return "pending", "not simulated yet"


def run_summary(store: Store, run_id: str) -> dict[str, Any]:
    """The run, its generations and its promotions, ready for ``--json`` or a report."""
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
    return {
        "run": run_json(run),
        "config": run.config,
        "generations": per_generation,
        "promoted": promoted,
        "verdict": verdict(run, per_generation),
    }


def verdict(run: Run, per_generation: list[dict[str, Any]]) -> str:
    """One sentence: promoted or not, and why."""
    if run.status == "failed":
        return f"failed: {run.error}"
    judged = [g["holdout"] for g in per_generation if g["holdout"]]
    if run.promoted:
        models = [h["model_id"] for h in judged if h["metrics"].get("promoted")]
        return f"promoted as {run.promoted_model_id} (model {', '.join(models)})"
    silent = [g for g in per_generation if g["state"] == "no_signal"]
    if not judged and silent:
        return f"not promoted: generation {silent[0]['generation']} has {silent[0]['note']}"
    if not judged:
        return "nothing was judged on the holdout yet"
    reasons = {h["metrics"].get("reason") for h in judged}
    return "not promoted: " + "; ".join(sorted(r for r in reasons if r))
