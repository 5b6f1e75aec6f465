"""The meta-model and the genome search: how well it ranks, what it costs.

Each history is the tests' (``tests/learning/history.py``), with seeds disjoint from
theirs: ``--markets`` symbols of :func:`fading_edge_bars` (4,000 hourly bars; a lasting and
a fading planted feature), three one-generation evolution runs each (starting from the
lasting feature, the fading one, or both, plus three indicators that predict nothing).
For each history it reports the cross-validated Spearman ρ (grouped by run) of the two
regressors against the selection-metric and random baselines, whether the planted
features rank top, and the time to build the genome table, to fit, and to propose 64
genomes.

    .venv/bin/python benchmarks/bench_metamodel.py --histories 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from strategy_factory.data import BarCatalog, fading_edge_bars
from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.execution import InlineExecutor
from strategy_factory.learning import fit_meta_model, genome_table, propose
from strategy_factory.store import Store, create_store

BARS = 4_000
SELECTION, HOLDOUT, END = 0.5, 0.7, 0.9
KINDS = (["exo_lasting"], ["exo_fading"], ["exo_lasting", "exo_fading"])
NOISE = ["ret_1", "rsi_14", "vol_20"]
PLANTED = {"feature:exo_lasting", "feature:exo_fading"}


def build(store: Store, home: Path, markets: int, seed: int) -> None:
    """``markets`` symbols, three runs each, into ``store``."""
    catalog = BarCatalog(home / "bars")
    for number in range(markets):
        symbol = f"M{number}"
        bars = fading_edge_bars(BARS, seed=seed * 1_000 + number, fade_at=HOLDOUT)
        catalog.save(symbol, bars)
        index = bars.index
        for kind in KINDS:
            config = EvolveConfig.load(
                {
                    "symbol": symbol,
                    "seed_features": kind + NOISE,
                    "max_generations": 1,
                    "criteria": "evidence",
                    "regime_configs": [None],
                    "grid": {"alpha": "auto", "l1_ratio": [0.5]},
                    "data_options": {
                        "selection_start": index[int(BARS * SELECTION)].isoformat(),
                        "holdout_start": index[int(BARS * HOLDOUT)].isoformat(),
                        "end": index[int(BARS * END)].isoformat(),
                    },
                    "strategy": {"modes": ["long_short", "long_only"], "regime_filters": [None]},
                }
            )
            Evolution(store, InlineExecutor()).run(create_run(store, config).id)


def one_history(markets: int, seed: int) -> dict[str, float]:
    """Build a history, train and evaluate the meta-model, propose: the figures."""
    with tempfile.TemporaryDirectory() as folder:
        os.environ["FACTORY_HOME"] = str(Path(folder) / "home")
        with create_store(f"sqlite:///{Path(folder) / 'factory.db'}") as store:
            build(store, Path(folder) / "home", markets, seed)
            started = time.perf_counter()
            table = genome_table(store)
            table_seconds = time.perf_counter() - started
            started = time.perf_counter()
            result = fit_meta_model(table)
            fit_seconds = time.perf_counter() - started
            model = result.model
            assert model is not None, result.reason
            started = time.perf_counter()
            propose(store, model, k=3, candidates=64)
            propose_seconds = time.perf_counter() - started
    metrics = model.metrics
    genome = [item.trait for item in model.importance["genome"][:2]]
    return {
        "rows": metrics["rows"],
        "full": metrics["models"]["full"]["spearman"],
        "genome": metrics["models"]["genome"]["spearman"],
        "selection": metrics["baselines"]["selection"]["spearman"],
        "random_p95": metrics["baselines"]["random"]["p95"],
        "planted_top": float(set(genome) == PLANTED),
        "table_s": table_seconds,
        "fit_s": fit_seconds,
        "propose_ms_per_genome": propose_seconds / 64 * 1_000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=5)
    parser.add_argument("--markets", type=int, default=4)
    args = parser.parse_args()
    rows = []
    for seed in range(1, args.histories + 1):
        figures = one_history(args.markets, seed)
        rows.append(figures)
        print(
            f"history {seed}: {figures['rows']:.0f} configurations; ρ full {figures['full']:.2f}, "
            f"genome {figures['genome']:.2f}, selection {figures['selection']:.2f}, random "
            f"p95 {figures['random_p95']:.2f}; planted traits top-2: {figures['planted_top']:.0f}; "
            f"table {figures['table_s']:.1f} s, fit {figures['fit_s']:.1f} s, propose "
            f"{figures['propose_ms_per_genome']:.0f} ms/genome",
            flush=True,
        )
    for name in ("full", "genome", "selection", "random_p95", "planted_top"):
        values = [row[name] for row in rows]
        print(f"{name}: mean {statistics.mean(values):.2f}, min {min(values):.2f}")
    beats = sum(row["full"] > max(row["selection"], row["random_p95"]) for row in rows)
    print(f"full regressor beats both baselines in {beats} of {len(rows)} histories")


if __name__ == "__main__":
    main()
