"""An evolution driven through the queue by ``factory worker`` processes finds exactly what
the same run finds in-process."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.execution import InlineExecutor, QueueExecutor
from strategy_factory.store import Run, SimulationResult, Store, create_store
from tests.factory_command import FACTORY

FIELDS = {"symbol": "SYN", "max_generations": 2, "early_stop": False}


def _cli_worker(url: str, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*FACTORY, "worker", "--db", url, "--poll", "0.1", "--id", name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _evolve(store: Store, executor: InlineExecutor | QueueExecutor | None = None) -> Run:
    created = create_run(store, EvolveConfig.load(FIELDS))
    executor = executor or QueueExecutor(store, run_id=created.id, poll_interval=0.1)
    try:
        return Evolution(store, executor).run(created.id)
    finally:
        executor.close()


def _cell(c: SimulationResult) -> tuple:
    strategy = (c.ticker, c.threshold, c.z_limit, str(c.regime_filter), c.mode)
    return (*strategy, c.trades, c.sqn, c.profit_factor, c.sharpe, c.total_return, c.max_drawdown)


def _selection(store: Store, run: Run) -> list[tuple]:
    """Per generation: the model's fingerprint and every selection cell's metrics."""
    found = []
    for model in sorted(store.models.of_run(run.id), key=lambda m: m.generation):
        cells = store.simulations.top(run.id, model_id=model.id, limit=100_000)
        rows = sorted((_cell(c) for c in cells), key=repr)
        found.append((model.generation, model.fingerprint, model.features, rows))
    return found


@pytest.mark.postgres
@pytest.mark.slow
def test_a_run_through_two_cli_workers_matches_the_in_process_run(
    catalog: BarCatalog, tmp_path: Path, postgres_url: str
) -> None:
    catalog.save("SYN", synthetic_bars(3000, freq="1h", seed=5, planted_strength=0.3))
    with create_store(f"sqlite:///{tmp_path / 'inline.db'}") as store:
        inline = _evolve(store, InlineExecutor())
        expected = _selection(store, inline)

    with create_store(postgres_url) as store:
        workers = [_cli_worker(postgres_url, f"cli-{n}") for n in range(2)]
        try:
            queued = _evolve(store)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            outputs = [worker.communicate(timeout=60) for worker in workers]
        assert [w.returncode for w in workers] == [0, 0], outputs
        assert _selection(store, queued) == expected
        assert (queued.status, queued.stop_reason) == (inline.status, inline.stop_reason)
        assert (queued.best_sqn_100, queued.configurations_tried) == (
            inline.best_sqn_100,
            inline.configurations_tried,
        )
        counts = store.queue.counts_by_status(queued.id)
        # Two models trained and each one that trades its own strategies simulated, each
        # once, all by the CLI workers (a child predicting its parent's is not simulated).
        simulated = sum(1 for *_, rows in expected if rows)
        assert counts == {"pending": 0, "running": 0, "done": 2 + simulated, "failed": 0}
        claimed_by = {job.claimed_by for job in _jobs(store, queued.id)}
        assert claimed_by <= {"cli-0", "cli-1"}
        assert {w.id for w in store.workers.live()} == set()  # both stopped cleanly
    assert len(expected) == 2
    assert expected[0][-1]  # the seed model was simulated


def _jobs(store: Store, run_id: str) -> list:
    from sqlalchemy import select

    from strategy_factory.store import JobRecord
    from strategy_factory.store.tables import priority_jobs

    with store.database.read() as connection:
        rows = connection.execute(select(priority_jobs).where(priority_jobs.c.run_id == run_id))
        return [JobRecord.from_row(row) for row in rows]
