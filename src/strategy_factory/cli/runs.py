"""``factory runs`` and ``factory promoted``: what runs did and what they promoted."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from strategy_factory.cli.evolve import DbOption, show_summary
from strategy_factory.cli.output import console, moment, print_json, print_table

if TYPE_CHECKING:
    from strategy_factory.store import Run

runs_app = typer.Typer(help="Evolution runs: list, inspect, stop.", no_args_is_help=True)
promoted_app = typer.Typer(help="Promoted strategies (the hall of fame).", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@runs_app.command("list")
def list_runs(
    status: Annotated[str | None, typer.Option(help="Only runs with this status.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Runs, newest first, with both phases' progress."""
    from strategy_factory.store import create_store

    found = create_store(db).runs.recent(status=status, limit=limit)
    if as_json:
        # Only JSON needs the evolution package (and the libraries under it).
        from strategy_factory.store import run_json

        print_json([run_json(r) for r in found])
        return
    print_table(
        "Runs",
        [
            "id",
            "symbol",
            "status",
            "generation",
            "models",
            "simulations",
            "best SQN-100",
            "promoted",
            "created",
        ],
        [
            [
                r.id,
                r.symbol,
                _status(r),
                r.current_generation,
                f"{r.models_trained}/{r.models_total}",
                f"{r.simulations_completed}/{r.simulations_total}",
                r.best_sqn_100,
                "yes" if r.promoted else "no",
                moment(r.created_at),
            ]
            for r in found
        ],
    )


def _status(run: Run) -> str:
    if run.abandoned():
        return "abandoned (its driver stopped; factory evolve --resume)"
    return run.status if run.stop_reason is None else f"{run.status} ({run.stop_reason})"


@runs_app.command("show")
def show_run(run_id: str, db: DbOption = None, as_json: JsonFlag = False) -> None:
    """One run: per-generation results, best configuration, verdict."""
    from strategy_factory.evolution import run_summary
    from strategy_factory.store import create_store

    summary = run_summary(create_store(db), run_id)
    if as_json:
        print_json(summary)
        return
    show_summary(summary)
    if summary["run"]["step_status"]:
        console.print(f"last step: {summary['run']['step_status']}")


@runs_app.command("generations")
def show_generations(run_id: str, db: DbOption = None, as_json: JsonFlag = False) -> None:
    """Per generation: features kept and pruned, best selection result, holdout verdict."""
    from strategy_factory.evolution import generations
    from strategy_factory.store import create_store

    rows = generations(create_store(db), run_id)
    if as_json:
        print_json(rows)
        return
    print_table(
        f"Generations of run {run_id}",
        ["gen", "model", "parent SQN-100", "features", "pruned", "SQN-100 sel", "verdict"],
        [
            [
                g["generation"],
                g["model_id"][:12],
                g["parent_sqn"],
                g["features"],
                ", ".join(g["pruned_features"]) or "—",
                (g["best_selection"] or {}).get("sqn_100"),
                ((g["holdout"] or {}).get("metrics") or {}).get("reason") or g["note"],
            ]
            for g in rows
        ],
    )


@runs_app.command("stop")
def stop_run(run_id: str, db: DbOption = None) -> None:
    """Stop a run: at once if nobody drives it, else after its driver's current unit."""
    from strategy_factory.store import create_store

    store = create_store(db)
    if not store.runs.request_stop(run_id):
        console.print(f"run {run_id} has already finished")
    elif store.runs.get(run_id).status == "stopped":
        console.print(f"run {run_id} is stopped (nothing was driving it)")
    else:
        console.print(f"run {run_id} will stop after its current unit of work")


def _promotion_json(store: Any, promoted_id: str) -> dict[str, Any]:
    record = store.promoted.get(promoted_id)
    data = asdict(record)
    data["created_at"] = record.created_at.isoformat()
    data["model"] = asdict(store.models.get(record.model_id))
    data["model"]["created_at"] = data["model"]["created_at"].isoformat()
    return data


@promoted_app.command("list")
def list_promoted(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Promoted strategies, newest first."""
    from strategy_factory.store import create_store

    found = create_store(db).promoted.recent(limit=limit)
    if as_json:
        print_json([{**asdict(p), "created_at": p.created_at.isoformat()} for p in found])
        return
    print_table(
        "Promoted",
        [
            "id",
            "run",
            "model",
            "ticker",
            "threshold",
            "z_limit",
            "regime",
            "SQN-100 hold",
            "PF",
            "trades",
            "DSR",
            "PBO",
            "tried",
        ],
        [
            [
                p.id,
                p.run_id,
                p.model_id[:12],
                p.strategy.get("ticker"),
                p.strategy.get("threshold"),
                p.strategy.get("z_limit"),
                p.strategy.get("regime_filter"),
                p.holdout_metrics.get("sqn_100"),
                p.holdout_metrics.get("profit_factor"),
                p.holdout_metrics.get("trades"),
                p.dsr,
                p.pbo,
                p.configurations_tried,
            ]
            for p in found
        ],
    )


@promoted_app.command("show")
def show_promoted(promoted_id: str, db: DbOption = None, as_json: JsonFlag = False) -> None:
    """One promotion: strategy, criteria verdict, metrics and its full lineage."""
    from strategy_factory.store import create_store

    data = _promotion_json(create_store(db), promoted_id)
    if as_json:
        print_json(data)
        return
    console.print(f"promoted {data['id']} from run {data['run_id']}, model {data['model_id']}")
    console.print(f"strategy: {data['strategy']}")
    print_table(
        "Verdict on the holdout",
        ["criterion", "value", "range", "met", "reason"],
        [
            [r["metric"], r["value"], r["range"], "yes" if r["met"] else "no", r["reason"]]
            for r in data["verdict"]["results"]
        ],
    )
    print_table(
        "Lineage (seed first)",
        ["gen", "model", "features", "pruned", "parent SQN-100"],
        [
            [
                e["generation"],
                e["child_model_id"][:12],
                len(e["remaining_features"]),
                ", ".join(e["pruned_features"]) or "—",
                e["parent_sqn"],
            ]
            for e in data["lineage"]
        ],
    )
    console.print(f"features: {', '.join(data['model']['features'])}")
    console.print(
        f"configurations tried: {data['configurations_tried']} · DSR {data['dsr']} · "
        f"PBO {data['pbo']}"
    )
