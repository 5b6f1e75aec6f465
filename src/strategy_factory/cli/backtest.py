"""``factory backtest``: simulate a strategy grid on stored bars and print the best cells."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from strategy_factory.cli.data import catalog
from strategy_factory.cli.output import console, moment, print_json, print_table
from strategy_factory.errors import FactoryError

if TYPE_CHECKING:
    import pandas as pd

    from strategy_factory.backtest import Market, StrategyGrid

SHOWN = ["trades", "win_rate", "profit_factor", "sqn", "sqn_100", "weekly_consistency"]
SHOWN += ["sharpe", "total_return", "max_drawdown", "exposure"]
LOWER_IS_BETTER = {"weekly_consistency", "max_drawdown_bars"}


def _z_limit(text: str) -> float | None:
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise FactoryError(f"--z-limit takes a number or 'none', got {text!r}") from exc


def _filter(text: str) -> dict | None:
    from strategy_factory.backtest import parse_regime_filter

    return None if text.strip().lower() == "none" else parse_regime_filter(text)


def rank(table: pd.DataFrame, sort: str, top: int) -> pd.DataFrame:
    """The ``top`` rows by ``sort`` (best first, undefined values last)."""
    from strategy_factory.evaluate import METRIC_COLUMNS

    if sort not in METRIC_COLUMNS:
        raise FactoryError(f"cannot sort by {sort!r}; use one of {', '.join(METRIC_COLUMNS)}")
    ascending = sort in LOWER_IS_BETTER
    return table.sort_values(sort, ascending=ascending, na_position="last", kind="stable").head(top)


def _train_end(text: str | None) -> pd.Timestamp | None:
    import pandas as pd

    if text is None:
        return None
    try:
        stamp = pd.Timestamp(text)
    except ValueError as exc:
        raise FactoryError(
            f"--regime-train-end takes a date such as 2012-12-31, got {text!r}"
        ) from exc
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _regime_fit(
    ticker: str, bars: pd.DataFrame, train_end: pd.Timestamp | None
) -> pd.DatetimeIndex:
    """The bars the regime labelers are fitted on: up to ``train_end``, or by default the
    share of the bars a run's training period gets, so that later bars stay unseen."""
    from strategy_factory.evolution.prepare import default_training_bars

    if train_end is None:
        fit = default_training_bars(bars.index)
    else:
        fit = bars.index[bars.index <= train_end]
    if len(fit) < 2:
        raise FactoryError(
            f"{ticker} has {len(fit)} bar(s) to fit the regime labelers on (its bars start "
            f"{moment(bars.index[0])}); give a later --regime-train-end or more bars"
        )
    return fit


def _markets(
    symbol: str,
    tickers: list[str],
    predictions: Path | None,
    rule: str | None,
    lookback: int,
    grid: StrategyGrid,
    regime_train_end: pd.Timestamp | None,
) -> tuple[list[Market], dict[str, pd.DatetimeIndex]]:
    """The markets to simulate and, per ticker, the bars its regime labelers were fitted on."""
    from strategy_factory.backtest import load_predictions
    from strategy_factory.backtest.assemble import (
        assemble_market,
        prediction_span,
        regime_columns,
        saved_predictions,
    )

    if predictions is not None and rule is not None:
        raise FactoryError("give either --rule or --predictions, not both")
    store = catalog()
    saved = load_predictions(predictions) if predictions is not None else None
    columns = regime_columns(grid.regime_filters)
    references = {"VIX": store.load("VIX")} if "regime_vix" in columns else None
    markets, fitted = [], {}
    for i, ticker in enumerate(dict.fromkeys([symbol.upper(), *(t.upper() for t in tickers)])):
        series = None if saved is None else saved_predictions(saved, ticker, first=i == 0)
        bars = prediction_span(store.load(ticker), series)
        if columns:
            fitted[ticker] = _regime_fit(ticker, bars, regime_train_end)
        markets.append(
            assemble_market(
                ticker,
                bars,
                series,
                rule=rule or "momentum",
                lookback=lookback,
                regime_filters=grid.regime_filters,
                references=references,
                regime_train_end=fitted[ticker][-1] if columns else None,
            )
        )
    return markets, fitted


def _fit_json(markets: list[Market], fitted: dict[str, pd.DatetimeIndex]) -> dict[str, Any]:
    sizes = {market.ticker: len(market.bars) for market in markets}
    return {
        ticker: {
            "first": fit[0].isoformat(),
            "last": fit[-1].isoformat(),
            "bars": len(fit),
            "total_bars": sizes[ticker],
        }
        for ticker, fit in fitted.items()
    }


def _print_fits(markets: list[Market], fitted: dict[str, pd.DatetimeIndex], how: str) -> None:
    sizes = {market.ticker: len(market.bars) for market in markets}
    for ticker, fit in fitted.items():
        console.print(
            f"regime labelers for {ticker} fitted on {moment(fit[0])} → {moment(fit[-1])} "
            f"({len(fit)} of {sizes[ticker]} bars: {how})"
        )


def backtest(
    symbol: Annotated[str, typer.Option("--symbol", help="Symbol to trade.")],
    rule: Annotated[
        str | None, typer.Option(help="Prediction rule: momentum or mean_reversion.")
    ] = None,
    lookback: Annotated[int, typer.Option(help="Bars in the rule's window.")] = 20,
    predictions: Annotated[
        Path | None,
        typer.Option(help="CSV/Parquet of saved predictions (timestamp + one column per ticker)."),
    ] = None,
    threshold: Annotated[
        list[float] | None, typer.Option(help="Minimum |prediction| to trade (repeatable).")
    ] = None,
    z_limit: Annotated[
        list[str] | None,
        typer.Option(help="Highest volatility z-score to trade in, or 'none' (repeatable)."),
    ] = None,
    regime_filter: Annotated[
        list[str] | None,
        typer.Option(
            help='Allowed regime labels as JSON, e.g. {"regime_trend":[0,1]} (repeatable).'
        ),
    ] = None,
    regime_train_end: Annotated[
        str | None,
        typer.Option(
            help="Fit regime labelers on bars up to this date only "
            "(default: the first part of each ticker's bars, the share a run trains on)."
        ),
    ] = None,
    mode: Annotated[
        list[str] | None, typer.Option(help="long_short or long_only (repeatable).")
    ] = None,
    fill: Annotated[str, typer.Option(help="next_open or next_close.")] = "next_open",
    fee_bps: Annotated[float, typer.Option(help="Fee per position change, basis points.")] = 1.0,
    slippage_bps: Annotated[float, typer.Option(help="Slippage per fill, basis points.")] = 1.0,
    ticker: Annotated[
        list[str] | None, typer.Option(help="Also run the grid on this symbol (repeatable).")
    ] = None,
    top: Annotated[int, typer.Option(help="How many configurations to show.")] = 10,
    sort: Annotated[str, typer.Option(help="Metric to rank by.")] = "sqn",
    capture_dir: Annotated[
        Path | None, typer.Option(help="Write the top configurations' signals here (Parquet).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Simulate thresholds × z-limits × regime filters × modes on every ticker and rank them."""
    from strategy_factory.backtest import (
        Execution,
        StrategyGrid,
        capture_signals,
        regime_filter_text,
        simulate_grid,
    )
    from strategy_factory.evaluate import metrics_table

    grid = StrategyGrid(
        thresholds=threshold or [0.0],
        z_limits=[_z_limit(z) for z in z_limit] if z_limit else [None],
        regime_filters=[_filter(f) for f in regime_filter] if regime_filter else [None],
        modes=mode or ["long_short"],
    )
    execution = Execution(fill=fill, fee_bps=fee_bps, slippage_bps=slippage_bps)
    train_end = _train_end(regime_train_end)
    markets, fitted = _markets(symbol, ticker or [], predictions, rule, lookback, grid, train_end)
    started = time.perf_counter()
    stats = simulate_grid(markets, grid, execution)
    seconds = time.perf_counter() - started
    best = rank(metrics_table(stats), sort, top)
    best["regime_filter"] = best["regime_filter"].map(regime_filter_text)
    captured = None
    if capture_dir is not None:
        configs = [stats.config(int(i)) for i in best.index]
        captured = capture_signals(capture_dir / "signals.parquet", markets, configs, execution)
    if as_json:
        durations = best["max_drawdown_duration"].astype(str)
        rows = best.assign(max_drawdown_duration=durations).to_dict(orient="records")
        print_json(
            {
                "strategies": len(stats),
                "seconds": seconds,
                "execution": {"fill": fill, "fee_bps": fee_bps, "slippage_bps": slippage_bps},
                "top": rows,
                "regime_fit": _fit_json(markets, fitted),
                "capture": None if captured is None else str(captured),
            }
        )
        return
    columns = ["ticker", "threshold", "z_limit", "regime_filter", "mode", *SHOWN]
    print_table(f"Top {len(best)} by {sort}", columns, best[columns].itertuples(index=False))
    console.print(f"simulated {len(stats)} strategies in {seconds:.3f} s")
    _print_fits(
        markets,
        fitted,
        "up to --regime-train-end" if train_end is not None else "the share a run trains on",
    )
    if captured is not None:
        console.print(f"signals of the top {len(best)} written to {captured}")
