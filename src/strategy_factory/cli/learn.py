"""``factory learn``: the learning layer — forward tracking of promoted strategies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from strategy_factory.cli.evolve import DbOption
from strategy_factory.cli.output import console, moment, print_json, print_table

if TYPE_CHECKING:
    from strategy_factory.learning.forward import ForwardReport

app = typer.Typer(
    help="The learning layer: forward tracking of promoted strategies.", no_args_is_help=True
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
