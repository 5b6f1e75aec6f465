"""How many of discovery's chunks one task of an executor trades.

A task (:func:`~strategy_factory.workflow.chunks.trade_chunks`) trades consecutive chunks
one after another, so that the executor's fixed cost per task is a small part of the
task; and a phase has several tasks per worker, so that the workers finish together.

The constants were measured on a local 2-worker Dask cluster of a 2-core machine
(``benchmarks/bench_dask_chunk_overhead.py``; its README section has the figures):

- A task costs Dask ~10 ms beyond its compute (an empty task's round trip: 6.6–10.7 ms,
  the hops client → scheduler → worker → scheduler → client and the client's fetch of the
  result); moving a chunk's 656 KiB result adds ~0.6 ms, pickling its payload and result
  0.2 ms. So the cost is per task, not per byte: a task of ``MIN_TASK_SECONDS`` keeps it
  under 5%, and tasks aim at twice that (``TASK_SECONDS``) to stay under it on a busy
  machine.
- A chunk computes in ~20 ms (its predictions over the whole series, its market, its
  metrics' tables) plus ~5 ns per cell-bar (trials × cells per trial × bars): 70 trials ×
  3 cells × 100,000 bars take 80–130 ms.
- With ``TASKS_PER_WORKER`` tasks per worker the last tasks are short beside the phase,
  and the client's checks and writes of each result overlap the next tasks' compute.
  Balance wins over the target when a phase is small, down to ``MIN_TASK_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Sequence

TASK_SECONDS = 0.4
MIN_TASK_SECONDS = 0.2
TASKS_PER_WORKER = 3
CHUNK_SECONDS = 0.02
CELL_BAR_SECONDS = 5e-9


def chunk_seconds(trials: int, cells_per_trial: int, bars: int) -> float:
    """The estimated compute seconds of a chunk of ``trials`` on ``bars`` bars."""
    return CHUNK_SECONDS + CELL_BAR_SECONDS * trials * cells_per_trial * bars


def task_bundles(seconds: Sequence[float], workers: int) -> list[range]:
    """Consecutive chunks (of estimated compute ``seconds``) grouped into tasks for
    ``workers`` tasks at once: about ``TASK_SECONDS`` of work each, and at least
    ``TASKS_PER_WORKER`` per worker while a task keeps ``MIN_TASK_SECONDS``.

    Example: 20 chunks of 0.125 s on 2 workers make 6 tasks of 3–4 chunks.
    """
    if not seconds:
        return []
    total = sum(seconds)
    for_size = int(total / TASK_SECONDS + 0.5)
    for_balance = min(TASKS_PER_WORKER * workers, int(total / MIN_TASK_SECONDS))
    tasks = min(max(for_size, for_balance, 1), len(seconds))
    bundles: list[range] = []
    start, work, left = 0, 0.0, total
    for i, chunk in enumerate(seconds):
        # Cut before the chunk whose middle passes the task's share of the work left, or
        # when the chunks left are just enough for one in each task left.
        tasks_left = tasks - len(bundles)
        full = work + chunk / 2 > left / tasks_left or len(seconds) - i < tasks_left
        if i > start and tasks_left > 1 and full:
            bundles.append(range(start, i))
            start, left, work = i, left - work, 0.0
        work += chunk
    return [*bundles, range(start, len(seconds))]
