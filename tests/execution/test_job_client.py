"""``factory worker --server``: the HTTP job client against the real service over a socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from strategy_factory.errors import FactoryError
from strategy_factory.execution import HttpJobSource, QueueExecutor, run_worker
from strategy_factory.service import ServiceSettings, create_app
from strategy_factory.store import Job, create_store
from tests.execution.conftest import wait_for

TOKEN = "s3cret-token"
UNITS = {"square": lambda payload: {"square": payload["n"] ** 2}}


class Server:
    """The service app under uvicorn in a thread, on a fixed loopback port (restartable)."""

    def __init__(self, url: str, port: int) -> None:
        self.settings = ServiceSettings(db=url, api_token=TOKEN, workers=0, port=port)
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = uvicorn.Config(
            create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        wait_for(lambda: self._server and self._server.started, 30, "the server to start")

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def store_and_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    """A SQLite store and the service on it; workers find the token in FACTORY_API_TOKEN."""
    monkeypatch.setenv("FACTORY_API_TOKEN", TOKEN)
    url = f"sqlite:///{tmp_path / 'factory.db'}"
    server = Server(url, _free_port())
    server.start()
    with create_store(url) as store:
        yield store, server
    server.stop()


def test_a_worker_over_http_runs_jobs_an_executor_waits_for(store_and_server: tuple) -> None:
    store, server = store_and_server
    executor = QueueExecutor(store, poll_interval=0.02)
    futures = [executor.submit("square", {"n": n}, priority=float(n)) for n in range(5)]
    report = run_worker(
        HttpJobSource(server.address), worker_id="remote-1", units=UNITS, max_jobs=5
    )
    assert [f.result(timeout=10) for f in futures] == [{"square": n * n} for n in range(5)]
    # Claimed over HTTP in priority order, each recorded by the remote worker.
    order = [store.queue.get(job_id).payload["n"] for job_id in report.completed]
    assert order == [4, 3, 2, 1, 0]
    assert {store.queue.get(i).claimed_by for i in report.completed} == {"remote-1"}
    (worker,) = [w for w in store.workers.live() if w.id == "remote-1"]  # its heartbeats
    assert worker.hostname == socket.gethostname()
    executor.close()


def test_a_wrong_token_is_refused_with_what_to_fix(store_and_server: tuple) -> None:
    _, server = store_and_server
    with pytest.raises(FactoryError, match="set FACTORY_API_TOKEN"):
        HttpJobSource(server.address, token="wrong").claim("w", None, 30, 1)


def test_a_worker_waits_out_a_server_restart(store_and_server: tuple) -> None:
    store, server = store_and_server
    stop, reports = threading.Event(), []
    source = HttpJobSource(server.address, timeout=2)
    options = {"units": UNITS, "poll_interval": 0.05, "stop_event": stop, "worker_id": "w"}
    thread = threading.Thread(target=lambda: reports.append(run_worker(source, **options)))
    thread.start()
    wait_for(store.workers.live, 10, "the worker's first heartbeat")
    server.stop()
    store.queue.enqueue([Job("square", {"n": n}) for n in range(3)])
    time.sleep(1.0)  # the worker's claims meet a closed port meanwhile
    assert store.queue.counts_by_status()["pending"] == 3
    server.start()
    wait_for(lambda: store.queue.counts_by_status()["done"] == 3, 30, "the jobs to be done")
    stop.set()
    thread.join(30)
    assert sorted(reports[0].completed) == [1, 2, 3]


def test_claiming_only_some_kinds_over_http(store_and_server: tuple) -> None:
    store, server = store_and_server
    store.queue.enqueue([Job("train", {"n": 1}, parent_sqn=5.0), Job("square", {"n": 2})])
    (lease,) = HttpJobSource(server.address).claim("w", ["square"], 30, 1)
    assert (lease.kind, lease.payload, lease.attempts) == ("square", {"n": 2}, 1)
    assert HttpJobSource(server.address).claim("w", ["square"], 30, 1) == []
