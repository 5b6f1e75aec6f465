"""The workflow report's charts: the phase timeline, ensemble weights, validation equity.

They follow the run report's charts (:mod:`strategy_factory.evolution.report_strategy_charts`):
the same template and colours, user text HTML-escaped before Plotly sees it, long periods
thinned for drawing. Timestamps are drawn as naive UTC.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from strategy_factory.evolution.report_strategy_charts import (
    EQUITY,
    MAX_POINTS,
    TEMPLATE,
    display_positions,
    text,
    utc_times,
)
from strategy_factory.workflow.files import Blend
from strategy_factory.workflow.phases.validation import MOST_SWITCHES
from strategy_factory.workflow.report_data import params_text

STATE_COLOURS = {"done": "#1a9850", "failed": "#d73027", "running": "#f2b705", "pending": "#bdbdbd"}
# Regime bands, by label in order; translucent so the equity line reads through them.
BAND_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#72b7b2", "#eeca3b", "#9d755d")
UNDEFINED_BAND = "#8c8c8c"
BAND_OPACITY = 0.16
SWITCH = "#222222"


def _time(value: str | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).tz_convert(None)


def _span(entry: dict[str, Any], last: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Where a phase's bar starts and ends: a running (or interrupted) phase reaches the
    manifest's last save; a pending one is an empty bar there (any times it still has
    are those of a run undone by ``resume --from``)."""
    if entry["state"] == "pending":
        return last, last
    return _time(entry["started_at"]) or last, _time(entry["finished_at"]) or last


def timeline_figure(manifest: dict[str, Any]) -> go.Figure:
    """Each phase as a bar from its start to its finish, coloured by state; a phase that
    has not run is labelled "not run yet" at the end."""
    phases = manifest["phases"]
    last = _time(manifest["updated_at"])
    figure = go.Figure()
    for state, colour in STATE_COLOURS.items():
        rows = [p for p in phases if p["state"] == state]
        if not rows:
            continue
        spans = [_span(p, last) for p in rows]
        seconds = [(end - start).total_seconds() for start, end in spans]
        labels = [f"{state} · {s:,.0f} s" for s in seconds]
        figure.add_bar(
            y=[text(p["name"]) for p in rows],
            base=[start for start, _ in spans],
            x=[s * 1000 for s in seconds],  # a date axis measures bar lengths in ms
            orientation="h",
            name=state,
            marker_color=colour,
            text=["not run yet"] * len(rows) if state == "pending" else labels,
            textposition="outside",
            cliponaxis=False,
            customdata=[
                f"{start:%Y-%m-%d %H:%M:%S} → {end:%H:%M:%S} ({s:,.0f} s)"
                for (start, end), s in zip(spans, seconds, strict=True)
            ],
            hovertemplate="%{y}: " + state + "<br>%{customdata}<extra></extra>",
        )
    names = [text(p["name"]) for p in phases]
    figure.update_layout(
        title="Phases: start to finish (UTC)",
        template=TEMPLATE,
        height=120 + 42 * len(phases),
        barmode="overlay",
        xaxis={"type": "date", "title": "time (UTC)"},
        yaxis={"categoryorder": "array", "categoryarray": names[::-1], "type": "category"},
        legend={"orientation": "h", "y": -0.25},
        margin={"r": 120},
    )
    return figure


def member_labels(members: list[tuple[str, int, dict[str, Any]]]) -> list[str]:
    """``momentum #7 · lookback=20, threshold=0.005``: family, trial and the parameters
    that differ between the members (those all share would only lengthen the legend)."""
    keys = sorted({key for _, _, params in members for key in params})
    varying = [k for k in keys if len({json.dumps(p.get(k)) for _, _, p in members}) > 1]
    labels = []
    for family, trial, params in members:
        shown = params_text({k: params[k] for k in varying if k in params})
        labels.append(f"{family} #{trial}" + (f" · {shown}" if shown else ""))
    return labels


def blend_members(blends: list[tuple[str, Blend]]) -> list[tuple[str, int, dict[str, Any]]]:
    """Every distinct member (family, trial, params) of some blend, in order of appearance."""
    members: list[tuple[str, int, dict[str, Any]]] = []
    for _, blend in blends:
        for member in blend.members:
            key = (member.family, member.trial, member.params)
            if key not in members:
                members.append(key)
    return members


def weights_figure(blends: list[tuple[str, Blend]]) -> go.Figure:
    """Stacked bars: one per blend (regime, and overall), one colour per member."""
    members = blend_members(blends)
    regimes = [text(name) for name, _ in blends]
    figure = go.Figure()
    for key, label in zip(members, member_labels(members), strict=True):
        weights = [
            sum(
                w
                for m, w in zip(blend.members, blend.weights, strict=True)
                if (m.family, m.trial, m.params) == key
            )
            for _, blend in blends
        ]
        figure.add_bar(
            x=regimes,
            y=weights,
            name=text(label),
            hovertext=text(f"{key[0]} #{key[1]}: {params_text(key[2])}"),
            hovertemplate="%{x}: weight %{y:.4g}<br>%{hovertext}<extra></extra>",
        )
    figure.update_layout(
        title="Ensemble weights per regime (the overall blend serves undefined regimes)",
        template=TEMPLATE,
        barmode="relative",  # stacked; a negative weight (long_only off) stacks below zero
        height=420,
        yaxis={"title": "weight"},
        legend={"title": {"text": "member (family #trial · parameters)"}},
    )
    return figure


def regime_runs(regimes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) bar position of every run of one regime label; a run ends where
    the next begins, so bands touch."""
    changes = np.flatnonzero(regimes[1:] != regimes[:-1]) + 1
    starts = np.concatenate([[0], changes])
    ends = np.concatenate([changes, [len(regimes) - 1]])
    return starts, ends


def _bands(
    figure: go.Figure, times: pd.DatetimeIndex, regimes: np.ndarray, name: Callable[[int], str]
) -> None:
    """One translucent trace per regime label, a rectangle per contiguous run (in one
    trace, so thousands of runs stay one legend entry and draw fast)."""
    starts, ends = regime_runs(regimes)
    labels = sorted(set(regimes.tolist()))
    for position, label in enumerate(labels):
        runs = regimes[starts] == label
        # Each run's rectangle as x0, x0, x1, x1, x0 and a None that lifts the pen.
        corners = np.empty((int(runs.sum()), 6), dtype=object)
        first, last = times[starts[runs]], times[ends[runs]]
        corners[:, [0, 1, 4]] = np.asarray(first, dtype=object)[:, None]
        corners[:, [2, 3]] = np.asarray(last, dtype=object)[:, None]
        colour = UNDEFINED_BAND if label < 0 else BAND_COLOURS[position % len(BAND_COLOURS)]
        bars = int((regimes == label).sum())
        figure.add_scatter(
            x=corners.ravel().tolist(),
            y=[0, 1, 1, 0, 0, None] * len(corners),
            yaxis="y",
            fill="toself",
            mode="none",
            fillcolor=colour,
            opacity=BAND_OPACITY,
            name=text(f"regime {name(label)} ({bars:,} bars)"),
            hoverinfo="skip",
        )


def validation_figure(
    per_bar: pd.DataFrame, name: Callable[[int], str], blend_name: Callable[[str], str]
) -> go.Figure:
    """Holdout equity over regime bands, a marker at each switch of the blend in force.

    ``name`` turns a regime label into its text, ``blend_name`` a blend (a label's text
    or ``overall``). At most :data:`MOST_SWITCHES` switches are marked (the title says
    when there were more), the same cap as the switches the validation file lists.
    """
    times = utc_times(per_bar["timestamp"])
    equity = per_bar["equity"].to_numpy(dtype=np.float64)
    regimes = per_bar["regime"].to_numpy(dtype=np.int64)
    blend = per_bar["blend"].astype(str).to_numpy()
    switches = np.flatnonzero(per_bar["switch"].to_numpy(dtype=bool))
    marked = switches[:MOST_SWITCHES]
    shown = display_positions(len(equity), marked)
    figure = go.Figure()
    _bands(figure, times, regimes, name)
    figure.add_scatter(
        x=times[shown],
        y=equity[shown],
        yaxis="y2",
        name="adaptive strategy equity",
        line={"color": EQUITY, "width": 1.6},
    )
    figure.add_scatter(
        x=times[marked],
        y=equity[marked],
        yaxis="y2",
        mode="markers",
        name=f"regime switch ({len(switches):,})",
        marker={"symbol": "diamond", "size": 8, "color": SWITCH},
        hovertext=[
            text(f"switch: {blend_name(blend[i - 1])} → {blend_name(blend[i])}") for i in marked
        ],
        hovertemplate="%{hovertext}<br>equity %{y:.4g}<extra></extra>",
    )
    notes = []
    if len(switches) > len(marked):
        notes.append(f"first {len(marked):,} of {len(switches):,} switches marked")
    if len(equity) > MAX_POINTS:
        notes.append(f"every {-(-len(equity) // MAX_POINTS)}th of {len(equity):,} bars drawn")
    figure.update_layout(
        title="Holdout equity of the adaptive strategy, regimes shaded, switches marked"
        + (f" ({'; '.join(notes)})" if notes else ""),
        template=TEMPLATE,
        height=480,
        hovermode="closest",
        # The bands live on a hidden 0–1 axis under the equity's own, so zooming the
        # equity never uncovers the background.
        yaxis={"range": [0, 1], "visible": False, "fixedrange": True},
        yaxis2={
            "overlaying": "y",
            "side": "left",
            "tickmode": "auto",  # not synced to the hidden band axis's 0–1 grid
            "title": "equity (starts at 1)",
        },
        legend={"orientation": "h", "y": -0.15},
    )
    return figure
