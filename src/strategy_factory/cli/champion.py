"""``factory champion``: the live strategy of each slot, changed only with evidence.

``list`` the slots and open challenges, ``challenge`` a slot's champion with a promotion,
``approve`` a major change that won its test, ``restore`` a backup, ``log`` the audit log.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from strategy_factory.cli.evolve import DbOption
from strategy_factory.cli.output import console, moment, print_json, print_table

if TYPE_CHECKING:
    from strategy_factory.store import ChampionLogEntry

app = typer.Typer(
    help="Champion/challenger: a champion per slot, replaced only after a paired test on "
    "forward data, backed up, restorable, rolled back when the overfitting monitor flags it.",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ByOption = Annotated[str, typer.Option("--by", help="Who does this (kept in the audit log).")]


@app.command("list")
def list_command(db: DbOption = None, as_json: JsonFlag = False) -> None:
    """Each slot's champion, and the challenges waiting for approval."""
    from strategy_factory.store import create_store

    with create_store(db) as store:
        slots = store.champions.slots()
        waiting = [c for c in store.champions.challenges() if c.state == "awaiting_approval"]
    if as_json:
        print_json({"slots": [asdict(s) for s in slots], "awaiting": [asdict(c) for c in waiting]})
        return
    print_table(
        "Champions",
        ["slot", "champion", "since"],
        ([s.slot, s.promotion_id, moment(s.updated_at)] for s in slots),
    )
    print_table(
        "Challenges awaiting approval",
        ["challenge", "slot", "challenger", "champion", "why"],
        ([c.id, c.slot, c.challenger_id, c.champion_id, c.reason] for c in waiting),
    )


@app.command("challenge")
def challenge_command(
    slot: Annotated[str, typer.Argument(help="The slot (e.g. a symbol, or a name).")],
    challenger: Annotated[str, typer.Argument(help="The challenging promotion's id.")],
    alpha: Annotated[float, typer.Option(help="One-sided significance level.")] = 0.05,
    min_effect: Annotated[
        float, typer.Option(help="Difference (sd per bar) whose detection power is reported.")
    ] = 0.1,
    min_bars: Annotated[int, typer.Option(help="Fewest common forward bars to judge.")] = 60,
    by: ByOption = "cli",
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Test a promotion against the slot's champion on their common forward bars; it
    replaces the champion if significantly better (a major change waits for approval)."""
    from strategy_factory.store import create_store
    from strategy_factory.understanding.champion import ChallengeRequest, challenge, parse

    values = {"slot": slot, "challenger": challenger, "alpha": alpha, "by": by}
    values.update(min_effect=min_effect, min_bars=min_bars)
    request = parse(ChallengeRequest, values, "challenge")
    with create_store(db) as store:
        outcome = challenge(store, request)
    if as_json:
        print_json(asdict(outcome))
        return
    console.print(f"{outcome.outcome}: {outcome.message}", highlight=False)
    if outcome.outcome == "awaiting_approval" and outcome.challenge is not None:
        console.print(f"approve with: factory champion approve {outcome.challenge.id} --by NAME")


@app.command("approve")
def approve_command(
    challenge_id: Annotated[str, typer.Argument(help="The challenge awaiting approval.")],
    by: ByOption,
    note: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
    db: DbOption = None,
) -> None:
    """Approve a major change that won its paired test: the challenger becomes champion."""
    from strategy_factory.store import create_store
    from strategy_factory.understanding.champion import ApprovalRequest, approve, parse

    request = parse(ApprovalRequest, {"by": by, "note": note}, "approval")
    with create_store(db) as store:
        entry = approve(store, challenge_id, request)
    console.print(
        f"{entry.champion_after} is champion of {entry.slot} (was {entry.champion_before}; "
        f"log entry {entry.id})",
        highlight=False,
    )


@app.command("restore")
def restore_command(
    slot: Annotated[str, typer.Argument(help="The slot whose backup to bring back.")],
    by: ByOption,
    backup: Annotated[int | None, typer.Option(help="Backup id (default the newest).")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
    db: DbOption = None,
) -> None:
    """Bring a backed-up champion back (the current one is backed up in turn)."""
    from strategy_factory.store import create_store
    from strategy_factory.understanding.champion import RestoreRequest, parse, restore

    request = parse(RestoreRequest, {"by": by, "backup": backup, "reason": reason}, "restore")
    with create_store(db) as store:
        entry = restore(store, slot, request)
    console.print(
        f"{entry.champion_after} is champion of {slot} again (replacing "
        f"{entry.champion_before}; log entry {entry.id})",
        highlight=False,
    )


@app.command("log")
def log_command(
    slot: Annotated[str | None, typer.Argument(help="Only this slot.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """The audit log, newest first: what changed, why, the evidence, who."""
    from strategy_factory.store import create_store

    with create_store(db) as store:
        entries = store.champions.log(slot, limit)
    if as_json:
        print_json([asdict(entry) for entry in entries])
        return
    print_table(
        "Champion audit log",
        ["#", "when", "slot", "action", "before", "after", "by", "why"],
        (_log_row(entry) for entry in entries),
    )


def _log_row(entry: ChampionLogEntry) -> list[object]:
    when = moment(entry.created_at)
    before, after = entry.champion_before, entry.champion_after
    return [entry.id, when, entry.slot, entry.action, before, after, entry.actor, entry.reason]
