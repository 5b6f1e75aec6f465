"""How many of discovery's chunks one task of an executor trades.

A task (:func:`~strategy_factory.workflow.chunks.trade_chunks`) trades consecutive chunks
one after another, so that the executor's fixed cost per task is a small part of the
task; and a phase has several tasks per worker, so that the workers finish together.

The constants were measured on a local 2-worker Dask cluster of a 2-core machine
(``benchmarks/bench_dask_chunk_overhead.py`` and ``bench_workflow_dask.py``; the README's
Dask section has the figures):

- A task costs Dask 10–20 ms beyond its compute: an empty task's round trip is
  10.2–11.3 ms (the hops client → scheduler → worker → scheduler → client, then the
  client's fetch of the result), a discovery task of 3–5 chunks' 12–22 ms (each chunk's
  result, ~330 KiB, adds a little to move and to hand over); pickling a payload and a
  result takes ~0.1 ms (a result's NumPy arrays cost more than its bytes: see
  :mod:`~strategy_factory.workflow.chunks`). A task of ``MIN_TASK_SECONDS`` keeps 20 ms
  at 5%; tasks aim at twice that (``TASK_SECONDS``).
- A chunk computes in ~20 ms (its predictions over the whole series, its market, its
  metrics' tables) plus ~3 ns per cell-bar (trials × cells per trial × bars) on a worker
  that has the machine to itself (the grid kernel runs on every core): 70 trials × 3
  cells × 100,000 bars take 82–88 ms. A busy machine only makes tasks longer, and the
  cost a smaller part of them; so the estimate is the idle machine's.
- With ``TASKS_PER_WORKER`` tasks per worker the last tasks are short beside the phase,
  and the client's checks and writes of each result overlap the next tasks' compute.
  Balance wins over the target when a phase is small, down to ``MIN_TASK_SECONDS``.
  (A phase's wall time hardly depends on the size: a worker's queued tasks hide Dask's
  round trip. The size is for the cost per task, the balance for the phase.)
"""

from __future__ import annotations

from collections.abc import Sequence

TASK_SECONDS = 0.8
MIN_TASK_SECONDS = 0.4
TASKS_PER_WORKER = 3
CHUNK_SECONDS = 0.02
CELL_BAR_SECONDS = 3e-9


def chunk_seconds(trials: int, cells_per_trial: int, bars: int) -> float:
    """The estimated compute seconds of a chunk of ``trials`` on ``bars`` bars."""
    return CHUNK_SECONDS + CELL_BAR_SECONDS * trials * cells_per_trial * bars


def task_bundles(seconds: Sequence[float], workers: int) -> list[range]:
    """Consecutive chunks (of estimated compute ``seconds``) grouped into tasks for
    ``workers`` tasks at once: about ``TASK_SECONDS`` of work each, and at least
    ``TASKS_PER_WORKER`` per worker while a task keeps ``MIN_TASK_SECONDS``.

    Example: 20 chunks of 0.083 s (70 trials × 3 cells × 100,000 bars) on 2 workers make
    4 tasks of 5 chunks: 6 would be shorter than ``MIN_TASK_SECONDS``.
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
