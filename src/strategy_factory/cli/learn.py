"""``factory learn``: the learning layer — forward tracking of promoted strategies, the
learning cycle and each of its steps, overfitting alerts, the knowledge base and the
learning settings."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from strategy_factory.cli.evolve import DbOption
from strategy_factory.cli.output import console, moment, print_json, print_table

if TYPE_CHECKING:
    from strategy_factory.learning.forward import ForwardReport

app = typer.Typer(
    help="The learning layer: forward tracking, the learning cycle, allocator, overfitting "
    "monitor, knowledge base and settings.",
    no_args_is_help=True,
)
forward_app = typer.Typer(
    help="Paper-trade every active promotion on the bars stored since its run "
    "(`factory learn forward`), or show one promotion's forward record "
    "(`factory learn forward show ID`).",
    invoke_without_command=True,
)
app.add_typer(forward_app, name="forward")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@forward_app.callback()
def forward(
    ctx: typer.Context,
    promotion: Annotated[
        list[str] | None,
        typer.Option("--promotion", help="Only this promotion (repeat for more; default all)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Bring forward tracking of every active promotion up to the stored bars and say
    what each one added."""
    if ctx.invoked_subcommand is not None:
        return
    from strategy_factory.data import BarCatalog
    from strategy_factory.learning.forward import update_forward
    from strategy_factory.settings import get_settings
    from strategy_factory.store import create_store

    with create_store(db) as store:
        report = update_forward(store, BarCatalog(get_settings().bars_dir), promotion)
    if as_json:
        print_json(report.to_json())
        return
    _print_report(report)


def _print_report(report: ForwardReport) -> None:
    if not report.updates:
        console.print("no promotions to track: promote a strategy with `factory evolve` first")
        return
    print_table(
        "Forward tracking",
        ["promotion", "symbol", "added", "from", "to", "tracked", "status"],
        (
            [
                u.promotion_id,
                u.symbol,
                u.added,
                _moment(u.first),
                _moment(u.last),
                u.bars_tracked,
                f"{u.status}: {u.reason}" if u.reason else u.status,
            ]
            for u in report.updates
        ),
    )
    console.print(f"{report.added} forward bars recorded")


@forward_app.command("show")
def show(promotion_id: str, db: DbOption = None, as_json: JsonFlag = False) -> None:
    """One promotion's forward record: bars, total return, Sharpe, max drawdown."""
    from strategy_factory.learning.forward import forward_summary
    from strategy_factory.store import create_store

    with create_store(db) as store:
        summary = forward_summary(store, promotion_id)
    if as_json:
        print_json(summary)
        return
    print_table(
        f"Forward record of promotion {summary['promotion_id']} ({summary['symbol']})",
        ["figure", "value"],
        ([name, _text(summary[name])] for name in _SHOWN),
    )


_SHOWN = (
    "promotion_status",
    "status",
    "reason",
    "started_after",
    "first",
    "last",
    "bars",
    "total_return",
    "sharpe",
    "holdout_sharpe",
    "max_drawdown",
    "exposure",
)


def _moment(stamp: Any) -> str:
    return "" if stamp is None else moment(stamp)


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


settings_app = typer.Typer(help="Show or change the learning settings.", no_args_is_help=True)
app.add_typer(settings_app, name="settings")
alerts_app = typer.Typer(
    help="Overfitting alerts: list them, acknowledge one.", invoke_without_command=True
)
app.add_typer(alerts_app, name="alerts")


@app.command("cycle")
def cycle(
    period: Annotated[
        str | None,
        typer.Option(help="Name of the knowledge summary (YYYY-MM-DD; default today, UTC)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the learning cycle: update forward tracking, retrain the meta-model, propose
    candidates, rebalance, flag overfitting, roll back flagged champions, diagnose new
    promotions, audit new runs, write the knowledge summary."""
    from strategy_factory.data import BarCatalog
    from strategy_factory.learning.cycle import run_cycle
    from strategy_factory.settings import get_settings
    from strategy_factory.store import create_store
    from strategy_factory.understanding.loop import understanding_steps

    _check_period(period)
    with create_store(db) as store:
        catalog = BarCatalog(get_settings().bars_dir)
        steps = understanding_steps(store)
        record = run_cycle(store, catalog, "cli", period=period, extra_steps=steps)
    if as_json:
        print_json(asdict(record))
        return
    print_table(
        f"Learning cycle {record.id}: {record.state}",
        ["step", "state", "what it did"],
        ([s["name"], s["state"], s.get("error") or _brief(s)] for s in record.steps),
    )
    if record.error:
        raise typer.Exit(1)


@app.command("rebalance")
def rebalance_command(db: DbOption = None, as_json: JsonFlag = False) -> None:
    """Allocate capital over the active promotions now and store the snapshot."""
    from strategy_factory.learning.cycle import snapshot_facts
    from strategy_factory.learning.portfolio import rebalance
    from strategy_factory.learning.settings import load_settings
    from strategy_factory.store import create_store

    with create_store(db) as store:
        facts = snapshot_facts(rebalance(store, load_settings(store)))
    if as_json:
        print_json(facts)
        return
    if facts["state"] != "allocated":
        console.print(f"no allocation ({facts['state']}): {facts['reason']}")
        return
    changed = facts["diff"].get("changed", {})
    print_table(
        f"Allocation {facts['snapshot']}",
        ["promotion", "weight", "change"],
        (
            [key, f"{weight:.1%}", _change(key, facts["diff"], changed)]
            for key, weight in sorted(facts["weights"].items(), key=lambda kv: -kv[1])
        ),
    )
    risk = facts["risk"]
    console.print(
        f"expected volatility {_text(risk.get('volatility'))} a year, turnover "
        f"{_text(facts['diff'].get('turnover'))}"
    )


@app.command("monitor")
def monitor_command(db: DbOption = None, as_json: JsonFlag = False) -> None:
    """Judge every active promotion's forward record against its holdout's promise; store
    an alert for each flagged one (and demote it when auto_demote is set)."""
    from strategy_factory.learning.portfolio import check_overfitting
    from strategy_factory.learning.settings import load_settings
    from strategy_factory.store import create_store

    with create_store(db) as store:
        judged = check_overfitting(store, load_settings(store))
    if as_json:
        print_json(judged)
        return
    if not judged["states"]:
        console.print("no active promotion to judge")
        return
    print_table(
        "Overfitting monitor",
        ["promotion", "verdict", "why"],
        ([key, v["state"], v["reason"]] for key, v in judged["states"].items()),
    )


@app.command("knowledge")
def knowledge(
    period: Annotated[str | None, typer.Argument(help="YYYY-MM-DD (default the latest).")] = None,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Print the knowledge base's Markdown summary of a period."""
    from strategy_factory.store import create_store

    _check_period(period)
    with create_store(db) as store:
        entry = store.knowledge.latest() if period is None else store.knowledge.get(period)
        periods = store.knowledge.periods()
    if entry is None:
        console.print("no knowledge summary yet: run `factory learn cycle`")
        return
    if as_json:
        print_json({**asdict(entry), "periods": periods})
        return
    console.print(entry.markdown, markup=False, highlight=False)


@alerts_app.callback()
def alerts(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Only unacknowledged alerts.")] = False,
    db: DbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List overfitting alerts, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from strategy_factory.store import create_store

    with create_store(db) as store:
        found = store.alerts.recent(include_acknowledged=not open_only)
    if as_json:
        print_json([asdict(alert) for alert in found])
        return
    if not found:
        console.print("no overfitting alerts")
        return
    print_table(
        "Overfitting alerts",
        ["id", "promotion", "statistic", "threshold", "raised", "demoted", "acknowledged"],
        (
            [
                a.id,
                a.promotion_id,
                _text(a.statistic),
                _text(a.threshold),
                moment(a.created_at),
                "yes" if a.demoted else "no",
                "—" if a.open else f"{a.acknowledged_by}, {moment(a.acknowledged_at)}",
            ]
            for a in found
        ),
    )


@alerts_app.command("ack")
def acknowledge(
    alert_id: int,
    by: Annotated[str, typer.Option(help="Who acknowledges.")] = "cli",
    note: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
    db: DbOption = None,
) -> None:
    """Acknowledge an alert (once; acknowledging it again changes nothing)."""
    from strategy_factory.store import create_store

    with create_store(db) as store:
        alert = store.alerts.acknowledge(alert_id, by=by, note=note)
    console.print(f"alert {alert.id} acknowledged by {alert.acknowledged_by}")


@settings_app.command("show")
def settings_show(db: DbOption = None) -> None:
    """Print the learning settings as YAML (the defaults until something was set)."""
    import yaml

    from strategy_factory.learning.settings import load_settings
    from strategy_factory.store import create_store

    with create_store(db) as store:
        current = load_settings(store)
    console.print(
        yaml.safe_dump(current.model_dump(mode="json"), sort_keys=False).rstrip(),
        markup=False,
        highlight=False,
    )


@settings_app.command("set")
def settings_set(
    assignments: Annotated[
        list[str], typer.Argument(help="NAME=VALUE pairs, e.g. monitor.confirm_bars=10")
    ],
    db: DbOption = None,
) -> None:
    """Change learning settings; all are validated together, and a refused value changes
    nothing."""
    from strategy_factory.learning.settings import (
        load_settings,
        parse_assignments,
        save_settings,
        with_changes,
    )
    from strategy_factory.store import create_store

    changes = parse_assignments(assignments)
    with create_store(db) as store:
        save_settings(store, with_changes(load_settings(store), changes))
    console.print(f"learning settings changed: {', '.join(assignments)}")


def _check_period(period: str | None) -> None:
    import re

    from strategy_factory.errors import FactoryError

    if period is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", period):
        raise FactoryError(f"period {period!r} is not a date: write YYYY-MM-DD")


def _brief(step: dict[str, Any]) -> str:
    summary = step.get("summary") or {}
    name = step["name"]
    if name == "forward":
        return f"{summary.get('added', 0)} forward bars recorded"
    if name == "allocator":
        return summary.get("reason") or f"{len(summary.get('weights', {}))} strategies weighted"
    if name == "monitor":
        return f"{summary.get('judged', 0)} judged, {len(summary.get('alerts', []))} flagged"
    if name == "meta_model":
        if summary.get("state") != "trained":
            return f"no meta-model: {summary.get('reason')}"
        return f"version {summary['version']}, rank correlation {_text(summary['scores']['model'])}"
    if name == "search":
        if summary.get("state") == "skipped":
            return f"skipped: {summary.get('reason')}"
        return f"{summary['proposed']} proposed, {len(summary['launched'])} runs launched"
    if "principles" in summary:  # a step of the understanding layer: what it found
        return "; ".join(summary["principles"]) or "nothing new"
    return f"summary of {summary.get('period')} written (`factory learn knowledge`)"


def _change(key: str, diff: dict[str, Any], changed: dict[str, Any]) -> str:
    if key in diff.get("added", {}):
        return "new"
    if key in changed:
        return f"{100 * changed[key]['change']:+.1f} pts"
    return "—"


@app.command("meta-model")
def meta_model(db: DbOption = None, as_json: JsonFlag = False) -> None:
    """Retrain the meta-model on every finished run (forward results where they exist) and
    store the version with its cross-validated scores and trait importance."""
    from strategy_factory.learning.settings import load_settings
    from strategy_factory.learning.steps import retrain
    from strategy_factory.store import create_store

    with create_store(db) as store:
        facts = retrain(store, load_settings(store))
    if as_json:
        print_json(facts)
        return
    if facts["state"] != "trained":
        console.print(f"no meta-model: {facts['reason']}")
        return
    scores = facts["scores"]
    console.print(
        f"meta-model version {facts['version']} on {facts['rows']} configurations from "
        f"{facts['runs']} runs: rank correlation {_text(scores['model'])} (selection metric "
        f"alone {_text(scores['selection_only'])}, random 95th percentile "
        f"{_text(scores['random'])})"
    )
    print_table(
        "Genome traits",
        ["trait", "importance", "direction"],
        (
            [t["trait"], _text(t["importance"]), _text(t["direction"] or t["best"])]
            for t in facts["traits"][:12]
        ),
    )


@app.command("search")
def search_command(db: DbOption = None, as_json: JsonFlag = False) -> None:
    """Ask the genome search for proposals scored by the newest meta-model and record the
    kept ones as pending runs (`factory evolve --resume RUN` or a server drives them)."""
    from strategy_factory.learning.settings import load_settings
    from strategy_factory.learning.steps import search
    from strategy_factory.store import create_store

    with create_store(db) as store:
        facts = search(store, load_settings(store))
    if as_json:
        print_json(facts)
        return
    if facts["state"] == "skipped":
        console.print(f"no search: {facts['reason']}")
        return
    print_table(
        f"Genome search: {facts['proposed']} proposed, {len(facts['kept'])} kept",
        ["run", "predicted fitness", "prior trials", "genome"],
        (
            [r["run_id"], _text(r["score"]), r["prior_trials"], r["genome"]]
            for r in facts["launched"]
        ),
    )
    for row in facts["not_launched"]:
        console.print(f"trial {row['trial']} not launched: {row['reason']}")
