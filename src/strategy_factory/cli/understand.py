"""``factory diagnose`` and ``factory audit``: why a strategy wins or loses, and what
makes a configuration unable to work."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from strategy_factory.cli.evolve import DbOption
from strategy_factory.cli.output import console, print_json, print_table

PeriodOption = Annotated[
    str,
    typer.Option(
        "--period", help="training, selection or holdout (default: the holdout, seen by no step)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def diagnose(
    subject: Annotated[
        str,
        typer.Argument(help="A promotion id (`factory promoted list`) or a run id (its best)."),
    ],
    period: PeriodOption = "holdout",
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Diagnose a strategy on a period: its trades split by regime, hour, weekday,
    volatility, side and holding time; features before losses; attribution at entry; the
    verdict after Benjamini-Hochberg correction over every test."""
    from strategy_factory.store import create_store
    from strategy_factory.understanding import diagnose as run_diagnosis

    result = run_diagnosis(create_store(db), subject, period)
    if json_output:
        print_json(result)
        return
    _print_diagnosis(result)


def _print_diagnosis(result: dict[str, Any]) -> None:
    subject, period = result["subject"], result["period"]
    console.print(
        f"{subject['kind']} {subject['id']} (model {subject['model_id'][:12]}), "
        f"{period['name']} {period['first'][:16]} → {period['last'][:16]}: "
        f"{result['trades']} closed trades, {result['tests']} tests",
        highlight=False,
    )
    tested = [s for s in result["splits"] if s["p_value"] is not None]
    print_table(
        "Splits (each group against the other trades)",
        ["split", "group", "trades", "mean", "rest mean", "win rate", "adj. p", ""],
        [
            [s["split"], s["group"], s["trades"], _pct(s["mean_return"]),
             _pct(s["rest_mean_return"]), _pct(s["win_rate"], 0), s["adjusted_p"],
             "significant" if s["significant"] else ""]
            for s in tested
        ],
    )  # fmt: skip
    if result["features"]:
        print_table(
            "Features before losing against winning trades (Mann-Whitney)",
            ["feature", "median before losers", "median before winners", "adj. p", ""],
            [
                [f["feature"], f["losers_median"], f["winners_median"], f["adjusted_p"],
                 "significant" if f["significant"] else ""]
                for f in result["features"]
            ],
        )  # fmt: skip
    if result["attribution"]:
        print_table(
            f"Attribution at entry ({result['attribution_note']}), signed by the side taken",
            ["feature", "winners", "losers", "mean |contribution|"],
            [
                [a["feature"], a["winners"], a["losers"], a["mean_abs"]]
                for a in result["attribution"]
            ],
        )
    else:
        console.print(f"attribution: {result['attribution_note']}", highlight=False)
    for note in result["notes"]:
        console.print(f"note: {note}", highlight=False)
    console.print("[bold]Verdict[/]")
    for sentence in result["verdict"]:
        console.print(f"  {sentence}", highlight=False)


def _pct(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:+.{digits}%}" if digits else f"{value:.0%}"


def audit(
    target: Annotated[
        str, typer.Argument(help="A run id (`factory runs list`) or an evolution YAML file.")
    ],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Audit a run or an evolution config before any work: thresholds and filters that
    never trade, cells that never trade, constant features, references that end early or
    start late, regime labelers fitted past training, periods too short for the criteria.
    Exits 1 when a finding is an error."""
    from strategy_factory.store import create_store
    from strategy_factory.understanding.audit import audit_target

    report = audit_target(create_store(db), target)
    if json_output:
        print_json(report.as_json())
    elif not report.findings:
        console.print(
            f"{report.target}: clean, none of the {len(report.checked)} checks found a problem"
        )
    else:
        console.print(f"{report.target}: {len(report.findings)} finding(s)", highlight=False)
        for f in report.findings:
            console.print(
                f"[bold]{f.severity}[/] {f.kind} — {f.subject}\n  {f.consequence}\n  fix: {f.fix}",
                highlight=False,
            )
    if report.errors:
        raise typer.Exit(1)


def transfer(
    promotion: Annotated[str, typer.Argument(help="The promotion whose genome to try.")],
    symbol: Annotated[
        list[str], typer.Option("--symbol", "-s", help="A symbol to try it on (repeat).")
    ],
    generations: Annotated[
        int | None, typer.Option(help="Generations per run (default: as the promoted run).")
    ] = None,
    pending: Annotated[
        bool,
        typer.Option(
            "--pending", help="Only record the runs (a server or `evolve --resume` runs them)."
        ),
    ] = False,
    workers: Annotated[int | None, typer.Option(help="Worker processes (see evolve).")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Try a promoted genome on other symbols: one evolution run per symbol, seeded with
    the promoted model's features and judged on that symbol's own holdout."""
    from strategy_factory.cli.evolve import drive_pending
    from strategy_factory.store import create_store
    from strategy_factory.understanding.transfer import (
        TransferRequest,
        launch_transfer,
        transfer_outcome,
    )

    request = TransferRequest.parse(
        {"promotion_id": promotion, "symbols": symbol, "generations": generations}
    )
    outcomes = []
    with create_store(db) as store:
        launched = launch_transfer(store, request)
        if not pending:
            for launch in launched:
                if launch.run is not None:
                    run_id = drive_pending(store, launch.run.id, workers, quiet=True)
                    outcomes.append(transfer_outcome(store, store.runs.get(run_id)))
    rows = [
        {"symbol": launch.symbol, "run_id": launch.run.id if launch.run else None}
        | ({"not_launched": launch.reason} if launch.reason else {})
        for launch in launched
    ]
    if json_output:
        print_json({"launched": rows, "outcomes": outcomes})
        return
    print_table(
        f"Transfer of {promotion}",
        ["symbol", "run", "outcome"],
        (
            [row["symbol"], row["run_id"] or "—", row.get("not_launched") or "pending"]
            for row in rows
        ),
    )
    for outcome in outcomes:
        console.print(outcome["principle"], highlight=False)
