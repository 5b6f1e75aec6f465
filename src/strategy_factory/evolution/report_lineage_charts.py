"""The report's lineage charts: the generation graph, feature counts and feature survival.

They take the per-generation rows of :func:`~strategy_factory.evolution.generations`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from strategy_factory.evolution.report_strategy_charts import EQUITY, TEMPLATE, text

PROMOTED, UNJUDGED, KEPT, ABSENT = "#f2b705", "#bdbdbd", "#2a9d8f", "#f0f0f0"


def _sqn(result: dict[str, Any] | None) -> float | None:
    return None if result is None else result.get("sqn")


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def node_positions(generations: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """(x, y) of every model: x its generation, y its rank among that generation's models."""
    taken: dict[int, int] = {}
    positions = {}
    for row in generations:
        rank = taken.get(row["generation"], 0)
        taken[row["generation"]] = rank + 1
        positions[row["model_id"]] = (row["generation"], -rank)
    return positions


def _hover(row: dict[str, Any], promoted: bool) -> str:
    holdout = row["holdout"] or {}
    verdict = (holdout.get("metrics") or {}).get("reason") or "not judged on the holdout"
    return "<br>".join(
        [
            f"generation {row['generation']} · model {text(row['model_id'])}",
            f"{row['features']} features",
            f"best selection SQN {_number(_sqn(row['best_selection']))}",
            f"holdout SQN {_number(holdout.get('sqn'))}",
            "PROMOTED" if promoted else text(verdict),
        ]
    )


def lineage_figure(generations: list[dict[str, Any]], promoted_id: str | None) -> go.Figure:
    """Generations as nodes (model, features, best SQN) and parent → child edges labelled
    with how many features were pruned; hovering an edge lists them."""
    positions = node_positions(generations)
    figure = go.Figure()
    for row in generations:
        parent = row["parent_model_id"]
        if parent not in positions:
            continue
        (x0, y0), (x1, y1) = positions[parent], positions[row["model_id"]]
        figure.add_annotation(
            x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
            text="", showarrow=True, arrowhead=3, arrowwidth=1.5, arrowcolor=UNJUDGED,
            standoff=20, startstandoff=20,
        )  # fmt: skip
        figure.add_annotation(
            x=(x0 + x1) / 2, y=(y0 + y1) / 2, yshift=14, showarrow=False,
            text=f"−{len(row['pruned_features'])} features", font={"size": 11},
        )  # fmt: skip
    edges = [r for r in generations if r["parent_model_id"] in positions]
    figure.add_scatter(
        x=[(positions[r["parent_model_id"]][0] + positions[r["model_id"]][0]) / 2 for r in edges],
        y=[(positions[r["parent_model_id"]][1] + positions[r["model_id"]][1]) / 2 for r in edges],
        mode="markers",
        marker={"size": 18, "color": "rgba(0,0,0,0)"},
        hovertext=[
            f"pruned into generation {r['generation']}:<br>"
            + "<br>".join(text(f) for f in r["pruned_features"])
            for r in edges
        ],
        hoverinfo="text",
        name="pruned features",
        showlegend=False,
    )
    _add_nodes(figure, generations, positions, promoted_id)
    figure.update_layout(
        title="Lineage: each generation's model, pruned from its parent",
        template=TEMPLATE,
        height=340,
        xaxis={"title": {"text": "generation"}, "dtick": 1, "zeroline": False},
        yaxis={"visible": False, "range": [min(y for _, y in positions.values()) - 1, 1]},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def _add_nodes(
    figure: go.Figure,
    generations: list[dict[str, Any]],
    positions: dict[str, tuple[int, int]],
    promoted_id: str | None,
) -> None:
    simulated = [r for r in generations if _sqn(r["best_selection"]) is not None]
    waiting = [r for r in generations if _sqn(r["best_selection"]) is None]
    promoted = [r for r in generations if r["model_id"] == promoted_id]
    for rows, name, marker in (
        (
            simulated,
            "model (colour: best selection SQN)",
            {
                "size": 26,
                "color": [_sqn(r["best_selection"]) for r in simulated],
                "colorscale": "Viridis",
                "colorbar": {"title": {"text": "best SQN"}, "len": 0.8},
                "line": {"color": EQUITY, "width": 1},
            },
        ),
        (waiting, "model not simulated", {"size": 26, "color": UNJUDGED}),
        (promoted, "promoted", {"size": 34, "symbol": "star", "color": PROMOTED}),
    ):
        if not rows:
            continue
        figure.add_scatter(
            x=[positions[r["model_id"]][0] for r in rows],
            y=[positions[r["model_id"]][1] for r in rows],
            mode="markers" if rows is promoted else "markers+text",
            marker=marker,
            text=[
                f"{text(r['model_id'][:8])}<br>{r['features']} feat · SQN "
                f"{_number(_sqn(r['best_selection']))}"
                for r in rows
            ],
            textposition="bottom center",
            hovertext=[_hover(r, r["model_id"] == promoted_id) for r in rows],
            hoverinfo="text",
            name=name,
        )


def features_figure(generations: list[dict[str, Any]]) -> go.Figure:
    """Features kept per generation (bars) with the best selection and holdout SQN (lines)."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    x = [r["generation"] for r in generations]
    figure.add_bar(
        x=x,
        y=[r["features"] for r in generations],
        text=[r["features"] for r in generations],
        name="features kept",
        marker={"color": KEPT},
        secondary_y=False,
    )
    for label, key, dash in (
        ("best selection SQN", "best_selection", "solid"),
        ("holdout SQN", "holdout", "dot"),
    ):
        figure.add_scatter(
            x=x,
            y=[_sqn(r[key]) for r in generations],
            name=label,
            mode="lines+markers",
            line={"dash": dash},
            secondary_y=True,
        )
    figure.update_layout(
        title="Features per generation, and the SQN they reached",
        template=TEMPLATE,
        height=380,
        xaxis={"title": {"text": "generation"}, "dtick": 1},
        legend={"orientation": "h", "y": -0.2},
    )
    figure.update_yaxes(title_text="features", secondary_y=False)
    figure.update_yaxes(title_text="SQN", rangemode="tozero", secondary_y=True)
    return figure


def survival(generations: list[dict[str, Any]]) -> tuple[list[str], np.ndarray]:
    """Every feature of the run and which generations kept it (features × generations).

    Features are ordered longest-surviving first, then in their seed order.
    """
    names = list(dict.fromkeys(f for r in generations for f in r["remaining_features"]))
    kept = np.array([np.isin(names, r["remaining_features"]) for r in generations]).T
    last = np.where(kept.any(axis=1), kept.shape[1] - 1 - np.argmax(kept[:, ::-1], axis=1), -1)
    order = np.lexsort((np.arange(len(names)), -last))
    return [names[i] for i in order], kept[order]


def survival_figure(generations: list[dict[str, Any]]) -> go.Figure:
    """Heatmap of which features survived to which generation."""
    names, kept = survival(generations)
    labels = [text(n) for n in names]
    figure = go.Figure(
        go.Heatmap(
            z=kept.astype(np.int8),
            x=[f"gen {r['generation']}" for r in generations],
            y=labels,
            customdata=np.where(kept, "kept", "pruned"),
            colorscale=[[0, ABSENT], [1, KEPT]],
            zmin=0,
            zmax=1,
            showscale=False,
            xgap=2,
            ygap=1,
            hovertemplate="%{y}<br>%{x}: %{customdata}<extra></extra>",
        )
    )
    figure.update_layout(
        title="Feature survival: which features each generation kept",
        template=TEMPLATE,
        height=160 + 18 * len(names),
        xaxis={"type": "category", "side": "top"},
        yaxis={"type": "category", "autorange": "reversed"},
    )
    return figure
