"""``factory evolve``: the main job — run (or resume) an evolution and summarize it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from strategy_factory.cli.output import console, errors, moment, print_json, print_table
from strategy_factory.errors import FactoryError

if TYPE_CHECKING:
    from strategy_factory.evolution import EvolveConfig
    from strategy_factory.evolution.ownership import LeaseKeeper
    from strategy_factory.execution import Executor
    from strategy_factory.execution.settings import ExecutorSettings
    from strategy_factory.store import Run, Store

DbOption = Annotated[
    str | None, typer.Option("--db", help="Store URL (default FACTORY_DB or sqlite:///factory.db).")
]


class RunProgress:
    """Two progress bars (training, simulation) and the run's current step."""

    def __init__(self, quiet: bool) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            console=errors,
            disable=quiet,
        )
        self.training: TaskID = self.progress.add_task("training", total=None, status="")
        self.simulation: TaskID = self.progress.add_task("simulation", total=None, status="")

    def __call__(self, run: Run) -> None:
        self.progress.update(
            self.training,
            completed=run.models_trained,
            total=max(run.models_total, run.models_trained) or None,
            status=f"generation {run.current_generation}",
        )
        self.progress.update(
            self.simulation,
            completed=run.simulations_completed,
            total=max(run.simulations_total, run.simulations_completed) or None,
            status=run.step_status or "",
        )


def _overrides(**options: Any) -> dict[str, Any]:
    """The options the user gave (None = not given), as config fields."""
    fields: dict[str, Any] = {k: v for k, v in options.items() if v not in (None, [])}
    strategy = {k: fields.pop(k) for k in ("tickers",) if k in fields}
    if strategy:
        fields["strategy"] = strategy
    return fields


def criteria_option(value: str | None) -> str | dict[str, Any] | None:
    """``--criteria``: a preset's name, or a YAML file of criteria ranges read here."""
    from strategy_factory.evaluate import PRESETS, PromotionCriteria

    if value is None or value in PRESETS:
        return value
    path = Path(value)
    if not path.is_file():
        raise FactoryError(
            f"--criteria {value!r} is neither a preset ({', '.join(PRESETS)}) nor a file"
        )
    return PromotionCriteria.from_yaml(path.read_text()).model_dump(mode="json")


EXECUTORS = ("local", "dask")


def executor_for(
    workers: int | None,
    kind: str | None = None,
    scheduler: str | None = None,
    from_file: dict[str, Any] | None = None,
    work: dict[str, Any] | None = None,
) -> Executor:
    """The executor of ``factory evolve`` (see :func:`executor_settings`).

    A local run without ``workers`` is sized by its estimated ``work``: in this process on
    every core, unless the pool's overlap of simulation with training pays for it
    (:func:`strategy_factory.evolution.budget.wants_pool`); then one worker per core.
    """
    from strategy_factory.evolution.budget import wants_pool

    chosen = executor_settings(workers, kind, scheduler, from_file)
    return chosen.build(on_refused=_warn, pool=wants_pool(work))


def executor_settings(
    workers: int | None,
    kind: str | None = None,
    scheduler: str | None = None,
    from_file: dict[str, Any] | None = None,
    where: str = "factory evolve",
) -> ExecutorSettings:
    """The options (``--workers``, ``--executor``, ``--scheduler``) over the config file's
    ``executor``/``workers``/``scheduler``, checked by :class:`ExecutorSettings` for the
    command ``where``."""
    from strategy_factory.execution.settings import ExecutorSettings

    given = {"executor": kind, "workers": workers, "scheduler": scheduler}
    chosen = {**(from_file or {}), **{k: v for k, v in given.items() if v is not None}}
    return ExecutorSettings.load(chosen).check(EXECUTORS, where)


def _warn(message: str) -> None:
    errors.print(f"[yellow]warning[/]: {message}", markup=True, highlight=False)


def evolve(
    symbol: Annotated[str | None, typer.Option(help="Symbol to evolve strategies for.")] = None,
    reference: Annotated[
        list[str] | None, typer.Option("--reference", "-r", help="Reference symbol (repeat).")
    ] = None,
    ticker: Annotated[
        list[str] | None,
        typer.Option("--ticker", help="Another symbol to apply each model to (repeat)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="YAML file of EvolveConfig fields (and executor, workers, scheduler)."
        ),
    ] = None,
    generations: Annotated[int | None, typer.Option(help="Maximum generations.")] = None,
    algorithm: Annotated[str | None, typer.Option(help="ElasticNet, RandomForest, …")] = None,
    timeframe: Annotated[str | None, typer.Option(help="Resample bars, e.g. 1h, 1D.")] = None,
    seed_feature: Annotated[
        list[str] | None, typer.Option("--seed-feature", help="Seed feature (repeat; default all).")
    ] = None,
    prune_fraction: Annotated[
        float | None, typer.Option(help="Share pruned per generation.")
    ] = None,
    min_dsr: Annotated[float | None, typer.Option(help="Minimum Deflated Sharpe Ratio.")] = None,
    criteria: Annotated[
        str | None,
        typer.Option(
            "--criteria",
            help="Promotion criteria: a preset (holy_grail, evidence) or a YAML file of ranges.",
        ),
    ] = None,
    early_stop: Annotated[
        bool | None, typer.Option("--early-stop/--no-early-stop", help="Stop at a promotion.")
    ] = None,
    pipelining: Annotated[
        bool | None,
        typer.Option("--pipelining/--no-pipelining", help="Simulate g while training g+1."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes (default: by the run's size, in-process on every core or "
            "a pool of one per core; 1 = in-process on one core)."
        ),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option("--executor", help="Where units run: local (processes, default) or dask."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (default FACTORY_DASK_SCHEDULER)."),
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue the run with this id.")
    ] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Run the evolution: train → prune → simulate → judge on the holdout → promote."""
    from strategy_factory.evolution import EvolveConfig, run_summary
    from strategy_factory.evolution.config import read_yaml
    from strategy_factory.execution.settings import FIELDS
    from strategy_factory.store import create_store

    store = create_store(db)
    settings = None
    data = read_yaml(config) if config else {}
    from_file = {k: data.pop(k) for k in FIELDS if k in data}
    if resume is None:
        fields = _overrides(
            symbol=symbol,
            reference_symbols=reference,
            tickers=ticker,
            max_generations=generations,
            algorithm=algorithm,
            timeframe=timeframe,
            seed_features=seed_feature,
            prune_fraction=prune_fraction,
            min_dsr=min_dsr,
            criteria=criteria_option(criteria),
            early_stop=early_stop,
            pipelining=pipelining,
        )
        settings = EvolveConfig.load({**data, **fields})
    # An invalid executor, or an unreachable cluster (its versions checked on connecting),
    # fails before any run is recorded; a local pool waits for the run's estimated work.
    chosen = executor_settings(workers, executor, scheduler, from_file)
    used = [chosen.build(on_refused=_warn)] if chosen.executor == "dask" else []

    def units_for(work: dict[str, Any] | None) -> Executor:
        if not used:
            used.append(executor_for(workers, executor, scheduler, from_file, work))
        return used[0]

    try:
        with store:
            run_id = _drive(store, units_for, settings, resume, quiet=as_json)
            summary = run_summary(store, run_id)
    finally:
        for units in used:
            units.close()
    if as_json:
        print_json(summary)
        return
    show_summary(summary)


def drive_pending(store: Store, run_id: str, workers: int | None, quiet: bool) -> str:
    """Run the pending run ``run_id`` here, on the local executor its work calls for."""
    used: list[Executor] = []

    def units_for(work: dict[str, Any] | None) -> Executor:
        used.append(executor_for(workers, work=work))
        return used[0]

    try:
        return _drive(store, units_for, None, run_id, quiet)
    finally:
        for units in used:
            units.close()


def _drive(
    store: Store,
    units_for: Callable[[dict[str, Any] | None], Executor],
    settings: EvolveConfig | None,
    resume: str | None,
    quiet: bool,
) -> str:
    """Create the run of ``settings`` (or take over run ``resume``) and run it on the
    executor ``units_for`` gives for its estimated work; its id."""
    from strategy_factory.evolution import Evolution, create_run
    from strategy_factory.evolution.ownership import LeaseKeeper, new_owner_id

    keeper = LeaseKeeper(store, new_owner_id("cli"))
    if settings is not None:
        run = create_run(store, settings, owner_id=keeper.owner_id)
        keeper.acquire(run.id)
    else:
        run = _take_over(keeper, str(resume))
    if not quiet:
        announce_periods(run.config.get("periods"))
    progress = RunProgress(quiet=quiet)
    units = units_for(run.config.get("work"))
    keeper.start()
    try:
        with progress.progress:
            Evolution(store, units, progress, owner_id=keeper.owner_id).run(run.id)
    finally:
        keeper.stop()
        with contextlib.suppress(Exception):  # a lease left behind simply expires
            keeper.release(run.id)
    return run.id


def announce_periods(periods: dict[str, Any] | None) -> None:
    """Say which bars the run uses, before it starts (on stderr, beside the progress)."""
    if not periods:
        return
    stored, used = periods["stored"], periods["used"]
    errors.print(
        f"{periods['symbol']}: stored {stored['first'][:10]} → {stored['last'][:10]} "
        f"({stored['bars']:,} bars); the run uses {used['first'][:10]} → "
        f"{used['last'][:10]} ({used['bars']:,} bars)"
    )
    if periods["cut_by"]:
        errors.print(
            f"[yellow]history cut short by {', '.join(periods['cut_by'])}[/]: drop it "
            "(the reference, or the start date) to use the whole history"
        )
    for name in ("training", "selection", "holdout"):
        span = periods[name]
        errors.print(
            f"  {name:<9} {_moment(span['first'])} → {_moment(span['last'])}  "
            f"{span['bars']:>7,} bars"
        )
    for warning in periods.get("warnings", []):
        errors.print(f"[yellow]warning[/]: {warning}")


def _moment(stamp: str | None) -> str:
    """A recorded ISO bar time as :func:`moment` shows it."""
    return "—" if stamp is None else moment(datetime.fromisoformat(stamp))


def _take_over(keeper: LeaseKeeper, run_id: str) -> Run:
    """Hold the lease of a run to resume (returned), or say who drives it."""
    run = keeper.store.runs.get(run_id)
    if run.status in ("completed", "stopped"):
        raise FactoryError(f"run {run_id} has already {run.status}; start a new run instead")
    if keeper.acquire(run_id, resume_failed=True) is None:
        run = keeper.store.runs.get(run_id)
        raise FactoryError(
            f"run {run_id} is driven by {run.owner_id} (its lease runs until "
            f"{run.owner_expires_at:%Y-%m-%d %H:%M:%S} UTC): stop it there, or resume it "
            "once that process has stopped and its lease has expired"
        )
    return keeper.store.runs.get(run_id)


def show_summary(summary: dict[str, Any]) -> None:
    """Per-generation table, the best configuration, and the verdict with its reasons."""
    run = summary["run"]
    rows = []
    for g in summary["generations"]:
        best = g["best_selection"] or {}
        holdout = g["holdout"] or {}
        metrics = holdout.get("metrics") or {}
        rows.append(
            [
                g["generation"],
                g["model_id"][:12],
                g["features"],
                best.get("sqn_100"),
                best.get("profit_factor"),
                best.get("trades"),
                holdout.get("sqn_100"),
                holdout.get("profit_factor"),
                holdout.get("trades"),
                metrics.get("dsr"),
                "yes" if metrics.get("promoted") else ("—" if not holdout else "no"),
            ]
        )
    print_table(
        f"Run {run['id']} · {run['symbol']} · {run['status']} ({run['stop_reason']})",
        [
            "gen",
            "model",
            "features",
            "SQN-100 sel",
            "PF sel",
            "trades sel",
            "SQN-100 hold",
            "PF hold",
            "trades hold",
            "DSR",
            "promoted",
        ],
        rows,
    )
    show_verdict(summary)
    console.print(f"distinct strategies tried: {run['configurations_tried']}")


def show_verdict(summary: dict[str, Any]) -> None:
    """The best configuration, why generations were not judged, and the verdict."""
    detail = summary["verdict_detail"]
    best = detail["best"]
    if best is not None:
        strategy = best["strategy"]
        console.print(
            f"best (by {'SQN-100' if best['ranked_by'] == 'sqn_100' else 'Sharpe'}): "
            f"generation {best['generation']} · model {best['model_id'][:12]} · "
            f"{strategy['ticker']} threshold {strategy['threshold']:.4g} z_limit "
            f"{strategy['z_limit']} regime {strategy['regime_filter']} {strategy['mode']}"
        )
    for g in detail["not_judged"]:
        console.print(f"generation {g['generation']}: {g['note']}")
    console.print(summary["verdict"])
