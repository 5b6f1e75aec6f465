"""The main job end to end, in the shape of the original system's 4-generation run.

Case 1: 100,000 synthetic one-minute bars, 46 seed features (45 indicators and the
planted feature), 4 generations, each training the original 294-cell ElasticNet grid
(7 alphas × 6 l1_ratios × 7 regime configs) and simulating a 140-strategy grid
(7 thresholds × 4 z-limits × 5 regime filters), on a local process pool of 2 workers.
Case 2: `factory evolve --symbol SP500` on the bundled daily data, timed as a command.

The peer is the original system's figure from its own logs: about 50 minutes for the
4-generation run (294-model training grid and 140 simulations per generation). Per-part
comparisons against today's tools, on the same data in one process, are in
``bench_training.py`` (vs scikit-learn GridSearchCV) and ``bench_backtest.py`` (vs
vectorbt). Phase breakdown: data and features (run creation), training units,
simulation units (time inside the workers), and the holdout gate in the coordinator.

    .venv/bin/python benchmarks/bench_evolve.py
    .venv/bin/python benchmarks/bench_evolve.py --bars 30000 --skip-sp500
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import Future
from pathlib import Path
from typing import Any, ClassVar

ORIGINAL_SECONDS = 50 * 60
REGIME_FILTERS = [
    None,
    {"regime_trend": [0, 1]},
    {"regime_trend": [0, 2]},
    {"regime_gmm": [0]},
    {"regime_hmm": [0]},
]


def timed_unit(kind: str, payload: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """Run a unit and say how long it took inside the worker."""
    from strategy_factory.execution import run_unit

    start = time.perf_counter()
    result = run_unit(kind, payload)
    return result, time.perf_counter() - start


def timed_executor(workers: int) -> Any:
    """A LocalExecutor that records each unit's time inside its worker, by kind."""
    from strategy_factory.execution import LocalExecutor

    class Timed(LocalExecutor):
        spent: ClassVar[dict[str, float]] = defaultdict(float)

        def submit(self, kind: str, payload: dict[str, Any], priority: float | None = None):  # type: ignore[no-untyped-def]
            outer: Future = Future()
            inner = self.pool().submit(timed_unit, kind, payload)

            def done(future: Future) -> None:
                try:
                    result, seconds = future.result()
                except Exception as exc:
                    outer.set_exception(exc)
                    return
                Timed.spent[kind] += seconds
                outer.set_result(result)

            inner.add_done_callback(done)
            return outer

    return Timed(workers)


def synthetic_case(bars: int, workers: int) -> None:
    from strategy_factory.data import BarCatalog, synthetic_bars
    from strategy_factory.evolution import Evolution, EvolveConfig, create_run
    from strategy_factory.execution import load_dataset
    from strategy_factory.execution.dataset import DatasetSpec
    from strategy_factory.models import DEFAULT_REGIME_CONFIGS
    from strategy_factory.store import create_store

    home = Path(os.environ["FACTORY_HOME"])
    BarCatalog(home / "bars").save(
        "SYN1M", synthetic_bars(bars, freq="1min", seed=7, planted_strength=0.05), replace=True
    )
    total = time.perf_counter()
    store = create_store(f"sqlite:///{home / 'bench.db'}")
    start = time.perf_counter()
    names = load_dataset(DatasetSpec(symbol="SYN1M")).feature_names
    indicators = [n for n in names if n not in ("exo_planted", "minute", "hour")]
    seed = [*indicators[:45], "exo_planted"]
    config = EvolveConfig(
        symbol="SYN1M",
        seed_features=seed,
        # The defaults without the VIX config (synthetic data has no VIX), plus downtrends:
        # 7 configs, as in the original 294-cell grid.
        regime_configs=[
            *(c for c in DEFAULT_REGIME_CONFIGS if c is None or "regime_vix" not in c),
            {"regime_trend": [2, 3]},
        ],
        max_generations=4,
        early_stop=False,
        strategy={"regime_filters": REGIME_FILTERS},
    )
    run = create_run(store, config)
    prepared = time.perf_counter() - start
    executor = timed_executor(workers)
    start = time.perf_counter()
    try:
        final = Evolution(store, executor).run(run.id)
    finally:
        executor.close()
    evolved = time.perf_counter() - start
    elapsed = time.perf_counter() - total
    spent = type(executor).spent
    edges = store.lineage.of_run(run.id)
    print(f"synthetic: {bars:,} one-minute bars, 46 seed features, {workers} workers")
    print(f"  generations {len(edges)}, features {[len(e.remaining_features) for e in edges]}")
    grid = store.models.get(edges[0].child_model_id).validation_metrics or {}
    print(f"  training grid per generation: {grid.get('configurations_tried')} cells")
    print(
        f"  simulations: {final.simulations_completed} ({final.simulations_completed // 4} per"
        f" generation), configurations tried {final.configurations_tried}"
    )
    print(f"  status {final.status} ({final.stop_reason}), promoted {final.promoted}")
    print(f"  end to end           {elapsed:7.2f} s  (target < 60 s)")
    print(f"    data + features    {prepared:7.2f} s  (bars → features, regimes, periods)")
    print(f"    training units     {spent['train']:7.2f} s  (inside workers)")
    print(f"    simulation units   {spent['simulate']:7.2f} s  (inside workers)")
    print(f"    evolution loop     {evolved:7.2f} s  (wall; includes units, holdout gate, store)")
    print(f"  original system: {ORIGINAL_SECONDS} s → ratio {ORIGINAL_SECONDS / elapsed:.0f}×")


def sp500_case() -> None:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "FACTORY_HOME": str(Path(folder) / "home")}
        command = [
            sys.executable,
            "-c",
            "from strategy_factory.cli import main; main()",
            "evolve",
            "--symbol",
            "SP500",
            "--json",
            "--db",
            f"sqlite:///{Path(folder) / 'sp500.db'}",
        ]
        subprocess.run(
            [*command[:3], "data", "list"], env=env, check=True, capture_output=True
        )  # bundled data cached, as after a first use
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        elapsed = time.perf_counter() - start
    print(
        f"SP500 daily: factory evolve --symbol SP500 (4 generations, whole command) "
        f"{elapsed:.2f} s (target < 20 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-sp500", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["FACTORY_HOME"] = str(Path(folder) / "home")
        synthetic_case(args.bars, args.workers)
    if not args.skip_sp500:
        sp500_case()


if __name__ == "__main__":
    main()
