"""Kill ``factory evolve`` with SIGKILL mid-run, resume it: nothing retrained, lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from strategy_factory.store import Run, Store, create_store
from tests.factory_command import FACTORY

GENERATIONS = "3"


def factory(db: str, *args: str) -> list[str]:
    return [*FACTORY, *args, "--db", db]


def evolve_command(db: str) -> list[str]:
    """A fresh run of the test's configuration, recorded in ``db``."""
    return factory(
        db,
        "evolve",
        "--symbol",
        "PLANTED",
        "--generations",
        GENERATIONS,
        "--workers",
        "1",
        "--no-early-stop",
        "--json",
    )


def evolve_until(db: str, reached: Callable[[Run], bool]) -> str:
    """Start an evolution in a subprocess and SIGKILL it once ``reached`` holds."""
    process = subprocess.Popen(
        evolve_command(db),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = create_store(db)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            runs = store.runs.recent()
            if runs and reached(runs[0]):
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return runs[0].id
            if process.poll() is not None:
                pytest.fail("the run finished before it could be killed")
            time.sleep(0.05)
        pytest.fail("the run never reached the point to kill it at")
    finally:
        if process.poll() is None:
            process.kill()
        store.close()


def resume(db: str, run_id: str) -> None:
    done = subprocess.run(
        factory(db, "evolve", "--resume", run_id, "--workers", "1", "--json"),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def assert_whole(store: Store, run_id: str, trained_before: set[str]) -> None:
    """One model per generation, each trained once; every result recorded once."""
    run = store.runs.get(run_id)
    assert (run.status, run.stop_reason) == ("completed", "max_generations")
    edges = store.lineage.of_run(run_id)
    assert [e.generation for e in edges] == list(range(int(GENERATIONS)))
    assert [e.parent_model_id for e in edges[1:]] == [e.child_model_id for e in edges[:-1]]
    models = store.models.of_run(run_id)
    assert len(models) == len({m.fingerprint for m in models}) == int(GENERATIONS)
    assert trained_before <= {m.id for m in models}, "a model trained before the kill was redone"
    assert run.models_trained == int(GENERATIONS)
    selection = sum(
        store.simulations.count(run_id, model_id=m.id, period="selection") for m in models
    )
    assert run.simulations_completed == selection >= run.configurations_tried > 0
    for model in models:  # each simulated model judged once (its same-as-parent children: none)
        simulated = store.simulations.count(run_id, model_id=model.id, period="selection")
        judged = store.simulations.count(run_id, model_id=model.id, period="holdout")
        assert judged == (1 if simulated else 0)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "reached"),
    [
        ("while training", lambda run: run.models_trained >= 2),
        ("while simulating", lambda run: run.simulations_completed > 0),
    ],
)
def test_a_killed_run_resumes_where_it_stopped(
    markets: Path, tmp_path: Path, point: str, reached: Callable[[Run], bool]
) -> None:
    db = f"sqlite:///{tmp_path / 'killed.db'}"
    run_id = evolve_until(db, reached)
    store = create_store(db)
    trained_before = {m.id for m in store.models.of_run(run_id)}
    assert trained_before, f"killed {point} before any model was recorded"
    resume(db, run_id)
    assert_whole(store, run_id, trained_before)

    reference_db = f"sqlite:///{tmp_path / 'whole.db'}"
    subprocess.run(
        evolve_command(reference_db),
        capture_output=True,
        check=True,
        timeout=300,
    )
    reference = create_store(reference_db)
    whole = reference.runs.recent()[0]
    assert [m.fingerprint for m in store.models.of_run(run_id)] == [
        m.fingerprint for m in reference.models.of_run(whole.id)
    ]
    resumed_best = store.simulations.top(run_id, metric="sqn", limit=5)
    whole_best = reference.simulations.top(whole.id, metric="sqn", limit=5)
    assert [(r.threshold, r.z_limit, r.sqn) for r in resumed_best] == [
        (r.threshold, r.z_limit, r.sqn) for r in whole_best
    ]


@pytest.mark.slow
@pytest.mark.postgres
def test_a_killed_run_resumes_on_postgresql(markets: Path, postgres_url: str) -> None:
    run_id = evolve_until(postgres_url, lambda run: run.simulations_completed > 0)
    store = create_store(postgres_url)
    trained_before = {m.id for m in store.models.of_run(run_id)}
    resume(postgres_url, run_id)
    assert_whole(store, run_id, trained_before)
    store.close()
