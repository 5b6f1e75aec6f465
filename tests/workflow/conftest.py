"""A factory home holding the planted regime-dependent series and a random walk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from strategy_factory.data import BarCatalog, regime_autocorrelated_bars

BARS = 3000


@pytest.fixture
def planted_home(catalog: BarCatalog) -> BarCatalog:
    """FACTORY_HOME with PLANTED (momentum when calm, reversal when volatile) and WALK."""
    catalog.save("PLANTED", regime_autocorrelated_bars(BARS, seed=5)[0])
    catalog.save("WALK", regime_autocorrelated_bars(BARS, seed=6, phi=(0.0, 0.0))[0])
    return catalog


def small_workflow(symbol: str = "PLANTED", **phase_options: Any) -> dict[str, Any]:
    """A workflow of two rule families over a small grid, every phase in order."""
    return {
        "name": f"{symbol.lower()}-test",
        "data": {"symbol": symbol, "selection_fraction": 0.35, "holdout_fraction": 0.35},
        "costs": {"fee_bps": 1, "slippage_bps": 1},
        "classifiers": {"regime_vol": {"type": "gmm", "params": {"n_regimes": 2}}},
        "phases": [
            {
                "type": "parameter_discovery",
                "families": [
                    {
                        "name": "momentum",
                        "kind": "rule",
                        "rule": "momentum",
                        "parameters": {"lookback": [1, 2, 5, 20], "threshold": [0.0, 0.005]},
                    },
                    {
                        "name": "reversion",
                        "kind": "rule",
                        "rule": "mean_reversion",
                        "parameters": {"lookback": [2, 3, 5, 20], "threshold": [0.0, 0.5]},
                    },
                ],
                **phase_options.get("discovery", {}),
            },
            {"type": "regime_analysis", "min_trades": 10},
            {"type": "ensemble_optimization", "step": 0.25},
            {"type": "validation", "criteria": "evidence"},
        ],
    }


def output_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every output file of a workspace (not the manifest or checkpoints)."""
    from strategy_factory.workflow.workspace import file_hash

    return {
        p.relative_to(root).as_posix(): file_hash(p)
        for folder in ("signals", "performance", "analysis")
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }
