"""Store throughput: recording a grid's simulation results, and the job queue's claim rate.

Grid results: ``SimulationRepository.add_many`` against the obvious SQLAlchemy way to
insert idempotently and learn how many rows were new — one executemany of ``INSERT … ON
CONFLICT DO NOTHING RETURNING id`` (SQLAlchemy's "insertmanyvalues") — on the same
14,000-cell grid, into a fresh run each, on SQLite (a temp file) and on PostgreSQL (when
``FACTORY_TEST_POSTGRES_URL`` or the default local server is reachable). Each is timed for
a first write and for a re-send of the whole grid (a resumed run), after a warm-up; both
must report the same counts. The queue figure is one process claiming and completing
jobs back to back (two transactions per job), no peer.

    .venv/bin/python benchmarks/bench_store.py
    .venv/bin/python benchmarks/bench_store.py --cells 3000 --jobs 200
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from strategy_factory.store import Job, Store, create_store
from strategy_factory.store.simulations import _row_values
from strategy_factory.store.tables import simulation_results

POSTGRES_URL = os.environ.get(
    "FACTORY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def grid(cells: int) -> list[dict]:
    """``cells`` grid cells with metrics, as the backtest's metrics table would give them."""
    rng = np.random.default_rng(7)
    filters = [None, *({"regime_gmm": [g]} for g in range(3)), {"regime_vix": [0, 2]}]
    combos = itertools.product(
        [f"T{t}" for t in range(40)],
        np.linspace(0, 0.01, 14),
        [None, 1.0, 1.5, 2.0, 3.0],
        filters,
        ["long_short", "long_only"],
    )
    return [
        {
            "ticker": ticker,
            "threshold": float(threshold),
            "z_limit": z_limit,
            "regime_filter": regime_filter,
            "mode": mode,
            "trades": int(rng.integers(0, 900)),
            "sqn": float(rng.normal()),
            "profit_factor": float(rng.uniform(0, 3)),
            "sharpe": float(rng.normal()),
            "win_rate": float(rng.uniform()),
        }
        for ticker, threshold, z_limit, regime_filter, mode in itertools.islice(combos, cells)
    ]


def returning_insert(store: Store, run_id: str, model_id: str, rows: list[dict]) -> int:
    """The peer: one executemany of INSERT … ON CONFLICT DO NOTHING RETURNING id."""
    scope = {"run_id": run_id, "model_id": model_id, "period": "selection"}
    statement = (
        store.database.insert(simulation_results)
        .on_conflict_do_nothing()
        .returning(simulation_results.c.id)
    )
    with store.database.write() as connection:
        return len(connection.execute(statement, [_row_values(scope, r) for r in rows]).all())


def timed(write: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    count = write()
    return time.perf_counter() - start, count


def bench_results(store: Store, rows: list[dict]) -> None:
    run_id = store.runs.create("SYN", "bench", {}, max_generations=1).id
    model = store.models.add(fingerprint="0" * 64, algorithm="bench", symbol="SYN", features=[])
    ours = partial(store.simulations.add_many, run_id, model.id, "selection", rows)
    warm = store.models.add(fingerprint="1" * 64, algorithm="bench", symbol="SYN", features=[])
    store.simulations.add_many(run_id, warm.id, "selection", rows[:200])
    returning_insert(store, run_id, warm.id, rows[200:400])
    peer_model = store.models.add(
        fingerprint="2" * 64, algorithm="bench", symbol="SYN", features=[]
    )
    peer = partial(returning_insert, store, run_id, peer_model.id, rows)
    for label in ("first write", "re-send"):
        (ours_s, ours_n), (peer_s, peer_n) = timed(ours), timed(peer)
        assert ours_n == peer_n, (ours_n, peer_n)
        print(
            f"  {label:<12} {len(rows):>6} cells, {ours_n:>6} new: ours {ours_s:7.3f} s "
            f"({len(rows) / ours_s:9,.0f} cells/s), RETURNING executemany {peer_s:7.3f} s, "
            f"ratio {peer_s / ours_s:5.1f}x"
        )


def bench_queue(store: Store, jobs: int) -> None:
    store.queue.enqueue(Job("simulate", {"n": n}, parent_sqn=float(n % 5)) for n in range(jobs))
    start = time.perf_counter()
    done = 0
    while (job := store.queue.claim("bench")) is not None:
        done += store.queue.complete(job.id, job.lease_token, {"n": job.payload["n"]})
    elapsed = time.perf_counter() - start
    assert done == jobs
    print(
        f"  queue        {jobs:>6} jobs claimed and completed in {elapsed:.3f} s "
        f"({jobs / elapsed:,.0f} jobs/s, one process)"
    )


def postgres_database() -> tuple[str, Callable[[], None]] | None:
    """A fresh PostgreSQL database and its cleanup, or None without a server."""
    name = f"sf_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'create database "{name}"'))
    except OperationalError as exc:  # no server: bench SQLite only
        print(f"PostgreSQL skipped ({type(exc).__name__})")
        return None

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'drop database if exists "{name}" with (force)'))

    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=14_000)
    parser.add_argument("--jobs", type=int, default=500)
    options = parser.parse_args()
    rows = grid(options.cells)
    with tempfile.TemporaryDirectory() as folder:
        targets = [("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", lambda: None)]
        postgres = postgres_database()
        if postgres is not None:
            targets.append(("PostgreSQL", *postgres))
        for label, url, cleanup in targets:
            print(label)
            try:
                with create_store(url) as store:
                    bench_results(store, rows)
                    bench_queue(store, options.jobs)
            finally:
                cleanup()


if __name__ == "__main__":
    main()
