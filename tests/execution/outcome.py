"""What an evolution run found, comparable across stores and executors (no ids)."""

from __future__ import annotations

from typing import Any

from strategy_factory.store import Run, SimulationResult, Store


def _cell(c: SimulationResult) -> tuple:
    strategy = (c.ticker, c.threshold, c.z_limit, str(c.regime_filter), c.mode)
    return (*strategy, c.trades, c.sqn, c.profit_factor, c.sharpe, c.total_return, c.max_drawdown)


def run_outcome(store: Store, run: Run) -> dict[str, Any]:
    """A run's models by fingerprint, every cell's metrics, its verdict and promotions."""
    models = []
    for model in sorted(store.models.of_run(run.id), key=lambda m: m.generation):
        cells = store.simulations.top(run.id, model_id=model.id, limit=100_000)
        rows = sorted(map(_cell, cells), key=repr)
        models.append((model.generation, model.fingerprint, model.features, rows))
    return {
        "models": models,
        "verdict": (run.status, run.stop_reason, run.best_sqn_100, run.configurations_tried),
        "promoted": sorted(
            (repr(p.strategy), p.dsr, p.configurations_tried)
            for p in store.promoted.recent(run.id, limit=None)
        ),
        "cells": store.simulations.count(run.id),
    }
