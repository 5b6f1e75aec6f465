"""A learning search's launched run, driven on a real Dask cluster (a ``dask scheduler``
and two ``dask worker`` processes with an empty FACTORY_HOME each) by ``factory evolve
--resume RUN --executor dask``, finds what the same run finds in process: a search's
pending runs need nothing but the executor settings to run on the cluster."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from strategy_factory.evolution import Evolution
from strategy_factory.execution import InlineExecutor
from strategy_factory.learning import MetaModel, launch, propose
from strategy_factory.store import Store, create_store
from tests.execution.dask_processes import DaskProcesses, two_workers
from tests.execution.outcome import run_outcome
from tests.factory_command import factory
from tests.learning.history import History


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    """A scheduler and two workers."""
    with two_workers(tmp_path_factory.mktemp("dask")) as processes:
        yield processes


def test_a_launched_search_run_resumed_on_the_cluster_finds_what_it_finds_in_process(
    history_copy: Store,
    meta_model: MetaModel,
    built_history: History,
    cluster: DaskProcesses,
    tmp_path: Path,
) -> None:
    from distributed import Client, get_task_stream

    (proposal,) = propose(history_copy, meta_model, k=1, candidates=6, seed=0)
    (on_cluster,) = launch(history_copy, [proposal])
    assert on_cluster.run is not None and on_cluster.run.status == "pending"
    # The same launch in another copy of the history, its run driven in this process.
    other = History(tmp_path / "other")
    shutil.copytree(built_history.folder, other.folder)
    with create_store(other.url) as store:
        (here,) = launch(store, [proposal])
        assert here.run is not None
        expected = run_outcome(store, Evolution(store, InlineExecutor()).run(here.run.id))

    url = history_copy.database.engine.url.render_as_string(hide_password=False)
    with Client(cluster.address, set_as_default=False) as client:
        cluster.wait_registered(client, set(cluster.workers))
        with get_task_stream(client=client) as stream:
            done = factory(
                "evolve", "--resume", on_cluster.run.id, "--executor", "dask",
                "--scheduler", cluster.address, "--db", url, "--json",
            )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = history_copy.runs.get(on_cluster.run.id)
    assert run.status == "completed"
    assert run_outcome(history_copy, run) == expected
    assert {task["key"].split("-")[0] for task in stream.data} >= {"train", "simulate"}
    # The run's bars are stored only here: the workers computed on the shipped dataset.
    assert list(cluster.worker_home.iterdir()) == []
