"""``factory cluster local``'s cluster: one-thread workers with glibc's default allocator
and no profiler, and a scheduler without the active memory manager (which would drop the
copies of a run's scattered dataset on all workers but one)."""

from __future__ import annotations

import os

import dask

from strategy_factory.execution.dask_cluster import local_cluster


def _malloc_trim() -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def _profiling() -> bool:
    return bool(dask.config.get("distributed.worker.profile.enabled"))


def test_the_local_cluster_keeps_every_copy_and_the_default_allocator() -> None:
    from distributed import Client

    with local_cluster(1) as cluster, Client(cluster, set_as_default=False) as client:
        assert client.amm.running() is False
        assert list(client.run(_malloc_trim).values()) == [None]
        assert list(client.run(_profiling).values()) == [False]
        workers = client.scheduler_info()["workers"].values()
        assert [worker["nthreads"] for worker in workers] == [1]
