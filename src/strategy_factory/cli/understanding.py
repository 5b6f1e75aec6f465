"""``factory hypothesis`` and ``factory indicators``: test ideas about the market with honest
statistics, and discover new indicators by formula search."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strategy_factory.cli.evolve import DbOption
from strategy_factory.cli.output import console, print_json, print_table

hypothesis_app = typer.Typer(
    help="Hypothesis tests: event studies corrected over every hypothesis ever tested.",
    no_args_is_help=True,
)
indicators_app = typer.Typer(
    help="Indicator discovery: formulas scored on training folds, judged on unseen bars.",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@hypothesis_app.command("test")
def hypothesis_test(
    path: Annotated[Path, typer.Argument(help="YAML file: one hypothesis or `hypotheses: [...]`.")],
    queue: Annotated[
        bool, typer.Option("--queue", help="Only queue them: the next learning cycle tests them.")
    ] = False,
    by: Annotated[str, typer.Option(help="Who queued them (with --queue).")] = "cli",
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Run each hypothesis of FILE as an event study, correct it over the store's whole
    family (Benjamini–Hochberg) and record it with its principle (or, with --queue, leave
    them for the next learning cycle)."""
    from strategy_factory.store import create_store
    from strategy_factory.understanding.hypotheses import (
        adjusted_now,
        hypothesis_json,
        run_hypotheses,
    )
    from strategy_factory.understanding.hypothesis_spec import read_hypotheses

    specs = read_hypotheses(path)
    if queue:
        from strategy_factory.understanding.hypotheses import queue_hypotheses

        with create_store(db) as store:
            waiting = queue_hypotheses(store, specs, by)
        if as_json:
            print_json([{"queued": q.id, "name": q.name} for q in waiting])
            return
        for item in waiting:
            console.print(f"{item.name}: queued (#{item.id}) for the next learning cycle")
        return
    with create_store(db) as store:
        records = run_hypotheses(store, specs)
        adjusted = adjusted_now(store.hypotheses.all())
    if as_json:
        print_json([hypothesis_json(r, adjusted) for r in records])
        return
    for record in records:
        console.print(f"[bold]{record.name}[/] (#{record.id}): {record.principle}", highlight=False)


@hypothesis_app.command("list")
def hypothesis_list(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest first.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Every tested hypothesis, newest first, with its adjusted p-value then and now."""
    from strategy_factory.store import create_store
    from strategy_factory.understanding.hypotheses import adjusted_now, hypothesis_json

    with create_store(db) as store:
        records = store.hypotheses.all()
    adjusted = adjusted_now(records)
    shown = list(reversed(records))[:limit]
    if as_json:
        print_json([hypothesis_json(r, adjusted) for r in shown])
        return
    if not shown:
        console.print("no hypothesis tested yet: `factory hypothesis test FILE`")
        return
    print_table(
        f"Hypotheses ({len(adjusted)} in the family)",
        ["id", "name", "symbol", "events", "effect", "hit rate", "p", "BH p then", "BH p now"],
        (
            [
                r.id,
                r.name,
                r.symbol,
                r.events,
                _pct(r.effect),
                _pct(r.hit_rate),
                _num(r.p_value),
                _num(r.adjusted_p),
                _num(adjusted.get(r.id)),
            ]
            for r in shown
        ),
    )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.3%}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


@indicators_app.command("discover")
def indicators_discover(
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Symbol to search on.")],
    reference: Annotated[
        list[str] | None, typer.Option("--reference", "-r", help="Reference symbol (repeat).")
    ] = None,
    horizon: Annotated[int, typer.Option(help="Bars ahead the return is scored over.")] = 1,
    population: Annotated[int, typer.Option(help="Formulas kept alive at once.")] = 40,
    generations: Annotated[int, typer.Option()] = 40,
    children: Annotated[int, typer.Option(help="New formulas per generation.")] = 60,
    keep: Annotated[int, typer.Option(help="Indicators judged and reported.")] = 10,
    seed: Annotated[int, typer.Option()] = 0,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Search formulas over primitives, judge the best on bars the search never saw, and
    record them as features named by their formula."""
    from pydantic import ValidationError

    from strategy_factory.errors import FactoryError, describe_problems
    from strategy_factory.store import create_store
    from strategy_factory.understanding.discovery_config import DiscoveryConfig
    from strategy_factory.understanding.indicators import indicator_json, run_discovery

    try:
        config = DiscoveryConfig(
            symbol=symbol,
            references=reference or [],
            horizon=horizon,
            population=population,
            generations=generations,
            children=children,
            keep=keep,
            seed=seed,
        )
    except ValidationError as exc:
        raise FactoryError(f"invalid search: {describe_problems(exc.errors())}") from exc
    with create_store(db) as store:
        result, records = run_discovery(store, config)
    if as_json:
        print_json({"trials": result.trials, "indicators": [indicator_json(r) for r in records]})
        return
    console.print(
        f"{result.trials:,} formulas tried, {result.duplicates_of_features} dropped as "
        f"duplicates of existing features; {sum(r.passed for r in records)} of "
        f"{len(records)} judged pass",
        highlight=False,
    )
    for record in records:
        console.print(f"- {record.principle}", highlight=False)


@indicators_app.command("list")
def indicators_list(
    db: DbOption = None,
    passed: Annotated[bool, typer.Option("--passed", help="Only those that passed.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Discovered indicators, newest first; use a formula as a seed feature by its name."""
    from strategy_factory.store import create_store
    from strategy_factory.understanding.indicators import indicator_json

    with create_store(db) as store:
        records = store.indicators.recent(passed_only=passed, limit=limit)
    if as_json:
        print_json([indicator_json(r) for r in records])
        return
    if not records:
        console.print("no indicator discovered yet: `factory indicators discover --symbol S`")
        return
    print_table(
        "Discovered indicators",
        ["id", "formula", "symbol", "train IC", "deflated", "holdout IC", "Šidák p", "passed"],
        (
            [
                *(r.id, r.formula, r.symbol, _num(r.train_ic), _num(r.deflated)),
                *(_num(r.holdout_ic), _num(r.holdout_p), "yes" if r.passed else "no"),
            ]
            for r in records
        ),
    )
