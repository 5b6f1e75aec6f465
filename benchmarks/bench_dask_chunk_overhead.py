"""Where a discovery task's time goes beyond its compute, on a local 2-worker Dask cluster.

``bench_workflow.py``'s discovery data (``--bars`` selection bars, 3 cells per trial); one
task of ``--chunks`` consecutive chunks (signal keys) of 70 trials, submitted alone and
waited for, ``--repeats`` times (medians printed). Measured:

* Dask's fixed round trip: an empty task on the scattered data, through the bare client
  and through the executor's shared tasks (its futures follow Dask's on a callback);
* the task's round trip as the client sees it, against its compute in the worker (Dask's
  task stream), and the timeline of the scheduler's and the worker's transitions
  (``client.story``): sent → running on the worker → finished → known to the scheduler →
  result in the client's hands;
* moving the result alone: a task that returns an already computed result (its round
  trip less the empty task's), gathered through the scheduler (Dask's default) and
  directly from the worker;
* on this process (thread CPU): pickling the payload, the function and the result (its
  cells and its changes apart), unpickling the result, and checking it (``chunk_result``);
  and, on a worker's side of the compute, the packing of the result.

    .venv/bin/python benchmarks/bench_dask_chunk_overhead.py
    .venv/bin/python benchmarks/bench_dask_chunk_overhead.py --chunks 4
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench_workflow import workflow
from bench_workflow_dask import chunk_list
from strategy_factory.data import synthetic_bars
from strategy_factory.execution.dask_cluster import DaskExecutor, local_cluster
from strategy_factory.workflow.bars import prepare_bars
from strategy_factory.workflow.chunks import (
    chunks_payload,
    chunks_results,
    discovery_data,
    trade_chunks,
)


def nothing(shared: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """An empty task on the shared value: Dask's fixed cost."""
    return {}


def returned(result: Any, payload: dict[str, Any]) -> Any:
    """A task that hands back a result computed before (scattered): moving it alone."""
    return result


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1e3


def thread_seconds(work: Callable[[], Any], repeats: int) -> float:
    """Median thread CPU seconds of ``work()``."""
    found = []
    for _ in range(repeats):
        started = time.thread_time()
        work()
        found.append(time.thread_time() - started)
    return statistics.median(found)


def trips(submit: Callable[[], Any], repeats: int) -> list[float]:
    """Round trips of ``submit().result()`` (one warm-up first)."""
    submit().result()
    found = []
    for _ in range(repeats):
        started = time.perf_counter()
        submit().result()
        found.append(time.perf_counter() - started)
    return found


def timeline(client: Any, key: str, sent: float, received: float) -> dict[str, float]:
    """Milliseconds after ``sent`` of the task's steps, from the scheduler's and the
    worker's stories (one machine, one clock)."""
    names = {
        (True, "released", "waiting"): "the scheduler has it",
        (False, "constrained", "executing"): "running on the worker",
        (False, "executing", "memory"): "finished on the worker",
        (True, "processing", "memory"): "the scheduler knows it finished",
    }
    steps: dict[str, float] = {}
    for step in client.story(key):
        name = names.get((step[0] == "scheduler", *step[2:4]))
        if name is not None:
            steps[name] = step[-1]
    steps["result in the client's hands"] = received
    return {name: (at - sent) * 1e3 for name, at in sorted(steps.items(), key=lambda s: s[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--chunks", type=int, default=1, help="chunks (signal keys) a task")
    parser.add_argument("--repeats", type=int, default=15)
    options = parser.parse_args()
    config = workflow(10)
    bars = synthetic_bars(int(options.bars / 0.4), freq="1min", seed=3, planted_strength=0.05)
    data = prepare_bars(bars, {}, config.data, config.classifiers)
    families = config.phases[0].families
    shared = discovery_data(data, families, config.costs.execution(), "selection")
    bundle = chunk_list(config)[: options.chunks]
    payload = chunks_payload(bundle)
    result = trade_chunks(shared, payload)
    print(f"one task of {len(bundle)} chunks of {len(bundle[0][1])} trials")
    local(shared, payload, result, bundle, data, options.repeats)
    with local_cluster(2) as cluster:
        executor = DaskExecutor(cluster.scheduler_address)
        try:
            on_cluster(executor, shared, payload, result, options.repeats)
        finally:
            executor.close()


def local(shared: Any, payload: Any, result: Any, bundle: list, data: Any, repeats: int) -> None:
    """The serialization and checks of one task on this process's thread."""
    import cloudpickle

    body = pickle.dumps(result, protocol=5)
    cells = [part["cells"] for part in result["chunks"]]
    changes = [part["changes"] for part in result["chunks"]]
    pieces = {
        "payload: pickle": lambda: pickle.dumps(payload, protocol=5),
        "function: cloudpickle": lambda: cloudpickle.dumps(trade_chunks),
        "result: pickle": lambda: pickle.dumps(result, protocol=5),
        "  its cells: pickle": lambda: pickle.dumps(cells, protocol=5),
        "  its changes: pickle": lambda: pickle.dumps(changes, protocol=5),
        "result: unpickle": lambda: pickle.loads(body),
        "result: check (chunks_results)": lambda: list(
            chunks_results(result, [trials for _, trials in bundle], data, "selection")
        ),
        "task compute (trade_chunks)": lambda: trade_chunks(shared, payload),
    }
    print(f"result {len(body) / 2**10:.0f} KiB pickled; payload {len(pickle.dumps(payload))} B")
    for name, work in pieces.items():
        print(f"  {name:<32} {thread_seconds(work, repeats) * 1e3:8.2f} ms thread CPU")


def on_cluster(executor: DaskExecutor, shared: Any, payload: Any, result: Any, n: int) -> None:
    """Round trips on the cluster: empty, moving a result, and the real task."""
    from distributed import get_task_stream

    client = executor.client
    tasks = executor.share(nothing, shared)
    value = tasks.scattered()
    bare = trips(lambda: executor.task(nothing, value, payload, name="nothing"), n)
    followed = trips(lambda: tasks.submit(payload), n)
    tasks.close()
    held = executor.broadcast(result)
    moved = trips(lambda: executor.task(returned, held, payload, name="returned"), n)
    gathered: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(n):
        for direct in (False, True):
            future = executor.task(returned, held, payload, name="returned")
            future.exception()  # finished: time the gather alone
            started = time.perf_counter()
            client.gather(future, direct=direct)
            gathered[direct].append(time.perf_counter() - started)
    print(f"empty task: {median_ms(bare):.1f} ms bare, {median_ms(followed):.1f} ms followed")
    print(
        f"moving the result: {median_ms(moved) - median_ms(bare):.1f} ms over the empty "
        f"task; gathering it once finished: {median_ms(gathered[False]):.1f} ms through the "
        f"scheduler, {median_ms(gathered[True]):.1f} ms directly from the worker"
    )
    tasks = executor.share(trade_chunks, shared)
    with get_task_stream(client=client) as stream:
        seconds = trips(lambda: tasks.submit(payload), n)
    compute = [
        sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute")
        for task in stream.data
    ]
    trip, work = median_ms(seconds), median_ms(compute[1:])
    print(f"task: round trip {trip:.1f} ms, compute {work:.1f} ms, overhead {trip - work:.1f} ms")
    steps: dict[str, list[float]] = {}
    for _ in range(n):
        future = executor.task(trade_chunks, tasks.scattered(), payload, name="timed")
        sent = time.time()
        future.result()
        for name, at in timeline(client, future.key, sent, time.time()).items():
            steps.setdefault(name, []).append(at)
    for name, at in steps.items():
        print(f"  {name:<30} {statistics.median(at):7.1f} ms after sending (bare client)")
    tasks.close()


if __name__ == "__main__":
    main()
