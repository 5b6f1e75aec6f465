"""The report page: the gathered run rendered through a Jinja2 template, charts inlined.

Jinja2 autoescaping escapes every text the page shows; the charts are Plotly's own HTML
(its JSON escapes ``<``, ``>`` and ``/``). Plotly's JavaScript comes once, before the
first chart: inlined by default (:attr:`PlotlyBundle.FULL`, the file needs no network), or
as a script tag of Plotly's CDN with its integrity hash (:attr:`PlotlyBundle.CDN`, a file
about 4.8 MB smaller whose charts need the network). The installed ``plotly`` package
ships only the full bundle, so there is no smaller self-contained choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from strategy_factory.errors import FactoryError
from strategy_factory.evolution.report_data import RunReport
from strategy_factory.evolution.report_lineage_charts import (
    features_figure,
    lineage_figure,
    survival_figure,
)
from strategy_factory.evolution.report_strategy_charts import (
    equity_figure,
    moment,
    sqn_heatmap,
    trades_figure,
)
from strategy_factory.evolution.report_template import TEMPLATE

CHART_IDS = (
    "equity-chart",
    "trades-chart",
    "lineage-chart",
    "features-chart",
    "survival-chart",
    "sqn-heatmap",
)
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


class PlotlyBundle(StrEnum):
    """Where a report's Plotly JavaScript comes from."""

    FULL = "full"  # inlined: self-contained, opens offline
    CDN = "cdn"  # a script tag of cdn.plot.ly: small, needs the network


def write_page(
    path: str | Path, plotly: PlotlyBundle | str, render: Callable[[PlotlyBundle], str]
) -> Path:
    """Check ``path`` and ``plotly``, then write the page ``render`` makes, whole or not at all.

    The one place a report page reaches the disk: the run report and the workflow report
    both come through here, so both refuse the same mistakes with the same words.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise FactoryError(
            f"cannot write the report to {target}: folder {target.parent} does not exist"
        )
    if plotly not in set(PlotlyBundle):
        choices = ", ".join(PlotlyBundle)
        raise FactoryError(f"plotly must be one of {choices}, not {plotly!r}")
    page = render(PlotlyBundle(plotly))
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(target)
    return target


# The metrics shown for the best strategy, in this order.
STRATEGY_METRICS = (
    "trades",
    "win_rate",
    "profit_factor",
    "sqn",
    "sqn_100",
    "weekly_consistency",
    "sharpe",
    "total_return",
    "max_drawdown",
    "exposure",
    "dsr",
    "pbo",
)


def number(value: Any) -> str:
    """A value as the page shows it: ``—`` when missing, ``∞``, whole numbers with
    separators, others to four significant digits."""
    if value is None or isinstance(value, str):
        return "—" if value is None else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    value = float(value)
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.4g}"


def exact(value: Any) -> str:
    """A number in full precision for a ``data-value`` attribute (empty when missing)."""
    if value is None or isinstance(value, str):
        return ""
    return repr(float(value))


def when(value: Any) -> str:
    """A timestamp (or ISO text) as the page shows it."""
    if value is None:
        return "—"
    stamp = pd.Timestamp(value)
    return moment(stamp.tz_convert("UTC") if stamp.tzinfo else stamp)


def regime(value: Any) -> str:
    """A regime filter in words: ``regime_trend ∈ {0, 1}``, or ``none``."""
    if not value:
        return "none"
    return "; ".join(
        f"{column} ∈ {{{', '.join(str(label) for label in labels)}}}"
        for column, labels in dict(value).items()
    )


def _environment() -> Environment:
    environment = Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    environment.filters.update(number=number, exact=exact, when=when, regime=regime)
    return environment


def figures(report: RunReport) -> dict[str, go.Figure]:
    """The report's charts by div id (only those the run has data for)."""
    found: dict[str, go.Figure] = {}
    if report.best is not None:
        found["equity-chart"] = equity_figure(report.best)
        found["trades-chart"] = trades_figure(report.best)
    generations = report.summary["generations"]
    if generations:
        promoted = None if report.promotion is None else report.promotion.model_id
        found["lineage-chart"] = lineage_figure(generations, promoted)
        found["features-chart"] = features_figure(generations)
        found["survival-chart"] = survival_figure(generations)
    if report.best is not None and not report.grid.empty:
        found["sqn-heatmap"] = sqn_heatmap(report.grid, report.best.model.id, report.best.config)
    return found


def chart_html(
    charts: dict[str, go.Figure], plotly: PlotlyBundle = PlotlyBundle.FULL
) -> dict[str, Markup]:
    """Each chart as an HTML fragment; the first one carries Plotly's JavaScript (inline,
    or its CDN script tag)."""
    bundle: bool | str = True if plotly is PlotlyBundle.FULL else "cdn"
    fragments = {}
    for position, (div_id, figure) in enumerate(charts.items()):
        fragments[div_id] = Markup(
            figure.to_html(
                full_html=False,
                include_plotlyjs=bundle if position == 0 else False,
                div_id=div_id,
                config=PLOTLY_CONFIG,
            )
        )
    return fragments


def generation_rows(report: RunReport) -> list[dict[str, Any]]:
    """The per-generation table: features, best selection result, holdout judgement."""
    rows = []
    for g in report.summary["generations"]:
        best = g["best_selection"] or {}
        holdout = g["holdout"] or {}
        metrics = holdout.get("metrics") or {}
        if not holdout:
            verdict = g.get("note") or "not judged on the holdout"
        else:
            verdict = "promoted" if metrics.get("promoted") else metrics.get("reason", "—")
        rows.append(
            {
                "generation": g["generation"],
                "model_id": g["model_id"],
                "features": g["features"],
                "pruned": ", ".join(g["pruned_features"]) or "—",
                "simulations": g["simulations"],
                "selection_sqn_100": best.get("sqn_100"),
                "selection_profit_factor": best.get("profit_factor"),
                "selection_trades": best.get("trades"),
                "holdout_sqn_100": holdout.get("sqn_100"),
                "holdout_profit_factor": holdout.get("profit_factor"),
                "holdout_trades": holdout.get("trades"),
                "holdout_dsr": metrics.get("dsr"),
                "promoted": bool(metrics.get("promoted")),
                "verdict": verdict,
            }
        )
    return rows


def strategy_rows(report: RunReport) -> list[dict[str, Any]]:
    """The best strategy's metrics: as recorded by the run, else as re-traded now."""
    best = report.best
    if best is None:
        return []
    rows = []
    for name in STRATEGY_METRICS:
        values = {}
        for traded in (best.selection, best.holdout):
            source = traded.stored if traded.stored is not None else traded.metrics
            values[traded.period] = source.get(name)
        rows.append({"metric": name, **values})
    return rows


def _verdict_class(report: RunReport) -> str:
    if report.run.promoted:
        return "promoted"
    return "failed" if report.run.status == "failed" else ""


def render_report(report: RunReport, plotly: PlotlyBundle = PlotlyBundle.FULL) -> str:
    """The whole HTML page of a gathered run report."""
    charts = chart_html(figures(report), plotly)
    config = report.config
    return (
        _environment()
        .from_string(TEMPLATE)
        .render(
            report=report,
            run=report.run,
            config=config,
            strategy=config.strategy,
            criteria=config.promotion_criteria().active,
            best=report.best,
            promotion=report.promotion,
            verdict=report.summary["verdict"],
            detail=report.summary["verdict_detail"],
            verdict_class=_verdict_class(report),
            periods=report.periods,
            generations=generation_rows(report),
            strategy_rows=strategy_rows(report),
            charts=charts,
            plotly=plotly.value,
            generated_at=moment(pd.Timestamp(datetime.now(UTC))),
        )
    )
