"""The sizing rule of discovery's tasks: every chunk in one task, in order; tasks of about
TASK_SECONDS of work; several tasks per worker unless that makes them too short."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategy_factory.workflow.task_size import (
    MIN_TASK_SECONDS,
    TASK_SECONDS,
    TASKS_PER_WORKER,
    chunk_seconds,
    task_bundles,
)


def work(seconds: list[float], bundles: list[range]) -> list[float]:
    return [sum(seconds[i] for i in bundle) for bundle in bundles]


@given(
    seconds=st.lists(st.floats(0.001, 10.0), max_size=300),
    workers=st.integers(1, 64),
)
def test_every_chunk_is_in_one_task_in_order(seconds: list[float], workers: int) -> None:
    bundles = task_bundles(seconds, workers)
    assert [i for bundle in bundles for i in bundle] == list(range(len(seconds)))
    if seconds:  # no more tasks than chunks, than the target wants or balance needs
        most = max(int(sum(seconds) / TASK_SECONDS + 0.5), TASKS_PER_WORKER * workers)
        assert 1 <= len(bundles) <= min(len(seconds), most)


def test_a_big_phase_makes_tasks_of_the_target_work() -> None:
    seconds = [chunk_seconds(70, 3, 100_000)] * 400  # 0.083 s each: 33 s of work
    bundles = task_bundles(seconds, workers=2)
    assert len(bundles) == round(sum(seconds) / TASK_SECONDS)
    assert all(TASK_SECONDS * 0.8 <= w <= TASK_SECONDS * 1.2 for w in work(seconds, bundles))


def test_balance_wins_over_the_target_down_to_the_shortest_task() -> None:
    seconds = [chunk_seconds(70, 3, 100_000)] * 40  # 3.3 s of work
    bundles = task_bundles(seconds, workers=2)
    assert len(bundles) == TASKS_PER_WORKER * 2  # not the 4 of 0.8 s: 6 of 0.55 s
    assert sorted(len(bundle) for bundle in bundles) == [6, 6, 7, 7, 7, 7]
    # 4 workers would want 12 tasks of 0.28 s: balance stops at tasks of MIN_TASK_SECONDS.
    assert len(task_bundles(seconds, workers=4)) == int(sum(seconds) / MIN_TASK_SECONDS) == 8
    # The benchmark's phase: 20 chunks, 1.66 s, 4 tasks of 5 chunks (6 would be too short).
    assert [len(b) for b in task_bundles(seconds[:20], workers=2)] == [5, 5, 5, 5]
    assert min(work(seconds, task_bundles(seconds[:20], workers=2))) >= MIN_TASK_SECONDS


@pytest.mark.parametrize(
    ("seconds", "workers", "sizes"),
    [
        ([], 2, []),
        ([0.02] * 8, 2, [8]),  # tiny phase: one task
        ([5.0] * 3, 2, [1, 1, 1]),  # never more tasks than chunks, big chunks alone
        ([0.1, 5.0, 0.1, 0.1], 2, [1, 1, 1, 1]),  # a big chunk does not swallow its neighbours
        ([0.25] * 7, 2, [2, 2, 2, 1]),  # 1.75 s: 4 tasks of 0.44 s on average, not 6
    ],
)
def test_bounds(seconds: list[float], workers: int, sizes: list[int]) -> None:
    assert [len(bundle) for bundle in task_bundles(seconds, workers)] == sizes


def test_a_chunk_is_estimated_by_its_cell_bars() -> None:
    assert chunk_seconds(70, 3, 100_000) == pytest.approx(0.02 + 3e-9 * 21_000_000)
    assert chunk_seconds(140, 3, 100_000) > chunk_seconds(70, 3, 100_000)
