"""The workflow report page: the gathered workspace as table rows and charts, through Jinja2.

It reuses the run report's page machinery (:mod:`strategy_factory.evolution.report_page`):
its number formats, its chart embedding (Plotly's JavaScript once, inlined or from the
CDN) and its CSS; Jinja2 autoescaping escapes every text the page shows. Chart ids
carry the phase's position (``weights-chart-2``), since phase names are free text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment, StrictUndefined

from strategy_factory.evaluate import PromotionCriteria
from strategy_factory.evolution.report_page import PlotlyBundle, chart_html, exact, number, when
from strategy_factory.evolution.report_strategy_charts import moment
from strategy_factory.workflow.adaptive import OVERALL
from strategy_factory.workflow.files import (
    Blend,
    Choice,
    EnsembleWeights,
    RegimeParams,
    ValidationResult,
)
from strategy_factory.workflow.report_charts import (
    blend_members,
    member_labels,
    timeline_figure,
    validation_figure,
    weights_figure,
)
from strategy_factory.workflow.report_data import PhaseView, WorkflowReport, params_text
from strategy_factory.workflow.report_template import TEMPLATE

# The validation metrics shown first, in this order; any other judged metric follows.
KEY_METRICS = (
    "sharpe",
    "sortino",
    "total_return",
    "cagr",
    "max_drawdown",
    "trades",
    "win_rate",
    "profit_factor",
    "sqn_100",
    "exposure",
    "dsr",
    "pbo",
    "holdout_p",
)
MEMBER_METRICS = ("trades", "sharpe", "total_return", "max_drawdown")


def regime_groups(report: WorkflowReport, analysis: RegimeParams) -> list[dict[str, Any]]:
    """The regime table: per classifier and regime (overall first), each family's choice."""
    groups = [
        {
            "classifier": "",
            "label": OVERALL,
            "regime": "overall (every bar)",
            "best_family": None,
            "choices": [
                _choice(family, chosen.overall) for family, chosen in analysis.families.items()
            ],
        }
    ]
    for classifier, labels in analysis.labels.items():
        for label in map(str, labels):
            groups.append(
                {
                    "classifier": classifier,
                    "label": label,
                    "regime": report.regime_name(classifier, label),
                    "best_family": analysis.best_family.get(classifier, {}).get(label),
                    "choices": [
                        _choice(family, chosen.regimes[classifier][label])
                        for family, chosen in analysis.families.items()
                        if label in chosen.regimes.get(classifier, {})
                    ],
                }
            )
    return groups


def _choice(family: str, choice: Choice) -> dict[str, Any]:
    return {"family": family, "params": params_text(choice.params)} | choice.model_dump(
        include={"trial", "value", "trades", "bars", "fallback", "reason", "note"}
    )


def _blends(weights: EnsembleWeights) -> list[tuple[str, Blend]]:
    """The ensemble's blends by name: ``overall`` first, then each regime label."""
    return [(OVERALL, weights.overall), *weights.regimes.items()]


def blend_rows(report: WorkflowReport, weights: EnsembleWeights) -> list[dict[str, Any]]:
    """The weights table: per blend (overall first), its members and their weights."""
    blends = _blends(weights)
    members = blend_members(blends)
    labels = member_labels(members)
    return [
        {
            "label": label,
            "regime": report.regime_name(weights.classifier, label),
            "objective_value": blend.objective_value,
            "weight_sets_tried": blend.weight_sets_tried,
            "fallback": blend.fallback,
            "note": blend.note,
            "members": [
                {
                    "family": m.family,
                    "trial": m.trial,
                    "label": labels[members.index((m.family, m.trial, m.params))],
                    "params": params_text(m.params),
                    "weight": w,
                }
                for m, w in zip(blend.members, blend.weights, strict=True)
            ],
        }
        for label, blend in blends
    ]


def metric_rows(result: ValidationResult) -> list[dict[str, Any]]:
    """Key metrics with, where a criterion judges them, its range, whether it was met, why."""
    judged = {
        r.metric: r
        for r in PromotionCriteria.model_validate(result.criteria).judge(result.metrics).results
    }
    names = [*KEY_METRICS, *(m for m in judged if m not in KEY_METRICS)]
    return [
        {
            "metric": name,
            "value": result.metrics.get(name),
            "range": judged[name].range.describe() if name in judged else "",
            "met": judged[name].met if name in judged else None,
            "reason": judged[name].reason if name in judged else "",
        }
        for name in names
    ]


def state_note(report: WorkflowReport, phase: PhaseView) -> str:
    """Why a phase shows no results: not run yet, running or interrupted, failed, unreadable."""
    if phase.problem:
        return f"its file cannot be read: {phase.problem}"
    if phase.state == "pending":
        return "not run yet"
    if phase.state == "running":
        progress = phase.entry.get("progress") or {}
        done = f" ({progress['done']:,} of {progress['total']:,})" if progress else ""
        return (
            f"running{done}, or interrupted: factory workflow resume "
            f"{report.manifest['id']} finishes it"
        )
    return "failed" if phase.state == "failed" else ""


def figures(report: WorkflowReport) -> dict[str, go.Figure]:
    """The page's charts by div id: the timeline, then each finished phase's chart."""
    found = {"timeline-chart": timeline_figure(report.manifest)}
    for phase in report.phases:
        if phase.shown and phase.weights is not None:
            classifier = phase.weights.classifier
            found[f"weights-chart-{phase.position}"] = weights_figure(
                [(report.regime_name(classifier, k), b) for k, b in _blends(phase.weights)]
            )
        if phase.shown and phase.validation is not None and phase.per_bar is not None:
            classifier = phase.validation.classifier
            found[f"equity-chart-{phase.position}"] = validation_figure(
                phase.per_bar,
                lambda label, c=classifier: report.regime_name(c, label),
                lambda blend, c=classifier: report.regime_name(c, blend),
            )
    return found


def _environment() -> Environment:
    environment = Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    environment.filters.update(number=number, exact=exact, when=when)
    return environment


def render_workflow_report(report: WorkflowReport, plotly: PlotlyBundle = PlotlyBundle.FULL) -> str:
    """The whole HTML page of a gathered workflow report."""
    manifest = report.manifest
    validations = report.of_type("validation")
    return (
        _environment()
        .from_string(TEMPLATE)
        .render(
            report=report,
            manifest=manifest,
            config=manifest["config"],
            periods=manifest.get("periods") or {},
            phases=report.phases,
            analyses=report.of_type("regime_analysis"),
            ensembles=report.of_type("ensemble_optimization"),
            validations=validations,
            latest=validations[-1] if validations else None,
            edits=manifest.get("edits") or [],
            regime_groups=lambda analysis: regime_groups(report, analysis),
            blend_rows=lambda weights: blend_rows(report, weights),
            metric_rows=metric_rows,
            member_metrics=MEMBER_METRICS,
            params_text=params_text,
            state_note=lambda phase: state_note(report, phase),
            charts=chart_html(figures(report), plotly),
            plotly=plotly.value,
            generated_at=moment(pd.Timestamp(datetime.now(UTC))),
        )
    )
