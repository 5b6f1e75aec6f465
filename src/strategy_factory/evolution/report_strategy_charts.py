"""The report's strategy charts: equity and drawdown, trades on price, and the best
model's threshold × z-score SQN map.

Every user-provided text that reaches a chart is HTML-escaped first: Plotly renders a
subset of HTML in titles and hover labels and decodes entities, so escaped text shows
as written and never as markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from strategy_factory.backtest import StrategyConfig
from strategy_factory.evolution.report_data import BestStrategy, TradedPeriod

# Points drawn per series and period: enough for any daily history, while a million
# minute bars still make a report of a few megabytes (see display_positions).
MAX_POINTS = 10_000
LONG, SHORT, EQUITY, HOLD, DRAWDOWN = "#1a9850", "#d73027", "#2b5da8", "#8c8c8c", "#c0392b"
TEMPLATE = "plotly_white"


def text(value: object) -> str:
    """User-provided text, safe to put in a Plotly title, label or hover text."""
    return html.escape(str(value))


def display_positions(n: int, keep: Sequence[int] = (), limit: int | None = None) -> np.ndarray:
    """Positions of the bars to draw out of ``n``: all of them up to ``limit`` (default
    :data:`MAX_POINTS`), else every k-th bar plus the first, the last and ``keep`` (e.g.
    the deepest drawdown)."""
    limit = MAX_POINTS if limit is None else limit
    if n <= limit:
        return np.arange(n)
    step = -(-n // limit)
    chosen = np.concatenate([np.arange(0, n, step), [n - 1], np.asarray(keep, dtype=np.int64)])
    return np.unique(chosen)


def utc_times(times: pd.Index | pd.Series) -> pd.DatetimeIndex:
    """Timestamps as naive UTC: Plotly draws wall-clock times and ignores offsets."""
    index = pd.DatetimeIndex(times)
    return index if index.tz is None else index.tz_convert(None)


def drawdown(equity: pd.Series) -> pd.Series:
    """Drawdown from the running peak, as a (negative) fraction."""
    return equity / equity.cummax() - 1.0


def period_label(traded: TradedPeriod) -> str:
    """``Selection period · 2015-01-02 → 2016-12-30`` (dates to the minute if intraday)."""
    index = traded.detail.per_bar.index
    return f"{traded.period.capitalize()} period · {moment(index[0])} → {moment(index[-1])}"


def moment(stamp: pd.Timestamp) -> str:
    """A timestamp as a date when it falls on midnight, else to the minute (UTC)."""
    if stamp.hour == stamp.minute == stamp.second == 0:
        return stamp.strftime("%Y-%m-%d")
    return stamp.strftime("%Y-%m-%d %H:%M")


def _thinned(traded: TradedPeriod) -> str:
    n = len(traded.detail.per_bar)
    return "" if n <= MAX_POINTS else f" (every {-(-n // MAX_POINTS)}th of {n:,} bars drawn)"


def equity_figure(best: BestStrategy) -> go.Figure:
    """Equity (with buy & hold) above drawdown, the selection and holdout periods side by side."""
    periods = (best.selection, best.holdout)
    figure = make_subplots(
        rows=2,
        cols=2,
        shared_xaxes="columns",
        row_heights=[0.68, 0.32],
        vertical_spacing=0.07,
        horizontal_spacing=0.07,
        subplot_titles=[text(period_label(p) + _thinned(p)) for p in periods],
    )
    for column, traded in enumerate(periods, start=1):
        _add_equity(figure, traded, column, best.config.ticker)
    figure.update_yaxes(title_text="equity (starts at 1)", row=1, col=1)
    figure.update_yaxes(title_text="drawdown", tickformat=".0%", row=2, col=1)
    figure.update_yaxes(tickformat=".0%", row=2, col=2)
    figure.update_layout(
        title="Equity and drawdown of the best strategy: selection vs holdout",
        template=TEMPLATE,
        height=560,
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.08},
    )
    return figure


def _add_equity(figure: go.Figure, traded: TradedPeriod, column: int, ticker: str) -> None:
    """One period's equity and buy & hold (top row) and drawdown (bottom row)."""
    equity = traded.detail.equity
    losses = drawdown(equity)
    shown = display_positions(len(equity), [int(np.argmin(losses.to_numpy()))])
    x = utc_times(equity.index[shown])
    hold = traded.close / traded.close.iloc[0]
    for row, y, name, style in (
        (1, equity, "strategy equity", {"line": {"color": EQUITY, "width": 1.6}}),
        (1, hold, text(f"buy & hold {ticker}"), {"line": {"color": HOLD, "dash": "dot"}}),
        (2, losses, "drawdown", {"line": {"color": DRAWDOWN, "width": 1}, "fill": "tozeroy"}),
    ):
        figure.add_scatter(
            x=x,
            y=y.to_numpy()[shown],
            name=name,
            legendgroup=name,
            showlegend=column == 1,
            row=row,
            col=column,
            **style,
        )


def trades_figure(best: BestStrategy) -> go.Figure:
    """The traded ticker's close with entry and exit fills, holdout above selection."""
    periods = (best.holdout, best.selection)
    figure = make_subplots(
        rows=2,
        cols=1,
        vertical_spacing=0.1,
        subplot_titles=[text(f"{best.config.ticker} · {_trades_title(p)}") for p in periods],
    )
    for row, traded in enumerate(periods, start=1):
        shown = display_positions(len(traded.close))
        figure.add_scatter(
            x=utc_times(traded.close.index[shown]),
            y=traded.close.to_numpy()[shown],
            name="close",
            legendgroup="close",
            showlegend=row == 1,
            line={"color": HOLD, "width": 1},
            row=row,
            col=1,
        )
        for trace in _trade_markers(traded.detail.trades, show_legend=row == 1):
            figure.add_trace(trace, row=row, col=1)
    figure.update_yaxes(title_text="price")
    figure.update_layout(
        title="Trades on price (▲ long entry, ▼ short entry, ✕ exit; fills after slippage)",
        template=TEMPLATE,
        height=720,
        legend={"orientation": "h", "y": -0.06},
    )
    return figure


def _trades_title(traded: TradedPeriod) -> str:
    return f"{period_label(traded)}{_thinned(traded)} · {len(traded.detail.trades)} trades"


def _trade_markers(trades: pd.DataFrame, show_legend: bool) -> list[go.Scatter]:
    traces = []
    status = np.where(trades["is_open"], "still open: marked at the last close", "closed")
    details = np.column_stack([trades["return"].to_numpy(), trades["bars_held"].to_numpy(), status])
    for direction, side, color, symbol in (
        (1, "long", LONG, "triangle-up"),
        (-1, "short", SHORT, "triangle-down"),
    ):
        chosen = (trades["direction"] == direction).to_numpy()
        for time_column, price, what, marker in (
            ("entry_time", "entry_price", "entry", symbol),
            ("exit_time", "exit_price", "exit", "x-thin-open"),
        ):
            traces.append(
                go.Scatter(
                    x=utc_times(trades.loc[chosen, time_column]),
                    y=trades.loc[chosen, price].to_numpy(),
                    mode="markers",
                    name=f"{side} {what}",
                    legendgroup=f"{side} {what}",
                    showlegend=show_legend,
                    marker={
                        "symbol": marker,
                        "color": color,
                        "size": 9,
                        "line": {"color": color, "width": 1.5},
                    },
                    customdata=details[chosen],
                    hovertemplate=(
                        f"{side} {what} %{{x}}<br>fill %{{y:.5g}}<br>trade return "
                        "%{customdata[0]:.2%} over %{customdata[1]} bars<br>%{customdata[2]}"
                        "<extra></extra>"
                    ),
                )
            )
    return traces


def z_label(z_limit: float | None) -> str:
    """A z-score limit as an axis label (``none`` = no volatility filter)."""
    return "none" if z_limit is None or pd.isna(z_limit) else f"{z_limit:g}"


def threshold_labels(thresholds: Sequence[float]) -> list[str]:
    """Distinct short labels for distinct thresholds (more digits only when needed)."""
    for digits in range(3, 18):
        labels = [f"{t:.{digits}g}" for t in thresholds]
        if len(set(labels)) == len(set(thresholds)):
            return labels
    return [repr(t) for t in thresholds]


def sqn_grid(grid: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Best SQN and the number of configurations per (z-score limit, threshold).

    Rows are z-score limits (no filter first, then loosest to tightest), columns thresholds
    ascending; the maximum is taken over regime filters, tickers and modes.
    """
    table = grid.assign(
        sqn=pd.to_numeric(grid["sqn"], errors="coerce"),
        z=grid["z_limit"].map(lambda z: np.inf if z is None or pd.isna(z) else float(z)),
        threshold=grid["threshold"].astype(float),
    )
    best = table.pivot_table(
        index="z", columns="threshold", values="sqn", aggfunc="max", dropna=False
    )
    counts = table.pivot_table(index="z", columns="threshold", values="mode", aggfunc="size")
    order = sorted(best.index, reverse=True)
    return best.loc[order], counts.reindex_like(best).loc[order]


def sqn_heatmap(
    grid: pd.DataFrame, model_id: str, chosen: StrategyConfig | None = None
) -> go.Figure:
    """Heatmap of the best model's selection SQN by threshold × z-score limit, with the
    ``chosen`` configuration's cell marked."""
    best, counts = sqn_grid(grid)
    rows = [z_label(None if np.isinf(z) else z) for z in best.index]
    columns = threshold_labels(list(best.columns))
    figure = go.Figure(
        go.Heatmap(
            z=best.to_numpy(),
            x=columns,
            y=rows,
            customdata=counts.fillna(0).to_numpy(dtype=np.int64),
            colorscale="RdYlGn",
            zmid=0,
            colorbar={"title": {"text": "SQN"}},
            texttemplate="%{z:.2f}",
            hovertemplate=(
                "threshold %{x}<br>z-score limit %{y}<br>best SQN %{z:.3f}"
                "<br>over %{customdata} configurations<extra></extra>"
            ),
            xgap=1,
            ygap=1,
        )
    )
    if chosen is not None and chosen.threshold in best.columns:
        figure.add_scatter(
            x=[columns[list(best.columns).index(chosen.threshold)]],
            y=[z_label(chosen.z_limit)],
            mode="markers",
            marker={"symbol": "star-open", "size": 22, "color": "black", "line": {"width": 2}},
            name="best strategy",
            hovertext="the best strategy's threshold and z-score limit",
            hoverinfo="text",
        )
    figure.update_layout(
        title=text(
            f"Selection SQN of model {model_id[:12]} by threshold × z-score limit "
            "(max over regime filters, tickers and modes)"
        ),
        template=TEMPLATE,
        height=200 + 46 * len(rows),
        xaxis={"title": {"text": "threshold (minimum |prediction|)"}, "type": "category"},
        yaxis={"title": {"text": "z-score limit"}, "type": "category", "autorange": "reversed"},
    )
    return figure
