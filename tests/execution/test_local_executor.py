"""The local executors: where a run's units go, and how many threads each pool worker runs."""

from __future__ import annotations

import os
from typing import Any

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from strategy_factory.cli.evolve import executor_for
from strategy_factory.evolution.budget import (
    CELL_BARS_PER_SECOND,
    FIT_VALUES_PER_SECOND,
    wants_pool,
)
from strategy_factory.execution import InlineExecutor, LocalExecutor

# What `factory evolve --symbol SP500 --reference NASDAQ` records as its work.
MAIN_JOB = {"fits": 2304, "fit_values": 404_688_384, "strategy_cells": 672, "cell_bars": 634_368}


def threads_here() -> dict[str, Any]:
    """Numba's and every loaded BLAS/OpenMP library's thread count in this process."""
    np.dot(np.ones((64, 64)), np.ones((64, 64)))  # BLAS loaded and used
    return {
        "numba": numba.get_num_threads(),
        "pools": {info["internal_api"]: info["num_threads"] for info in threadpool_info()},
    }


def test_a_pool_worker_runs_one_numba_and_one_blas_thread() -> None:
    executor = LocalExecutor(2)
    try:
        seen = [executor.pool().submit(threads_here).result(timeout=600) for _ in range(4)]
    finally:
        executor.close()
    for threads in seen:
        assert threads["numba"] == 1
        assert threads["pools"]  # at least the BLAS behind NumPy
        assert set(threads["pools"].values()) == {1}, threads


def test_the_main_job_runs_in_process_on_every_core() -> None:
    assert not wants_pool(MAIN_JOB)
    chosen = executor_for(None, work=MAIN_JOB)
    assert isinstance(chosen, InlineExecutor)
    assert chosen.threads == (os.cpu_count() or 1)


@pytest.mark.parametrize(
    ("training_seconds", "simulation_seconds", "pool"),
    [(0.5, 100.0, False), (100.0, 0.5, False), (1.0, 1.0, True), (30.0, 2.0, True)],
)
def test_the_pool_is_for_work_whose_overlap_pays(
    training_seconds: float, simulation_seconds: float, pool: bool
) -> None:
    # The pool overlaps a generation's simulation with the next one's training: worth it
    # only when both are long, however long the other one is.
    work = {
        "fits": 1,
        "fit_values": training_seconds * FIT_VALUES_PER_SECOND,
        "strategy_cells": 1,
        "cell_bars": simulation_seconds * CELL_BARS_PER_SECOND,
    }
    assert wants_pool(work) is pool


def test_a_run_recorded_without_an_estimate_keeps_the_pool() -> None:
    assert wants_pool(None)


def test_workers_override_the_choice() -> None:
    one = executor_for(1, work=None)
    assert isinstance(one, InlineExecutor)
    assert one.threads == 1
    several = executor_for(3, work=MAIN_JOB)
    assert isinstance(several, LocalExecutor)
    assert several.workers == 3
