"""The service's tests run on both backends, on a bar store holding small synthetic symbols.

``SYN`` carries a planted predictive feature strong enough to promote under loose
criteria; ``NOISE`` is a pure random walk. Browser tests need Debian's Chromium: they skip
without it unless ``FACTORY_REQUIRE_BROWSER=1``, which makes them fail instead.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.execution import Executor, InlineExecutor
from strategy_factory.service import ServiceSettings, create_app
from strategy_factory.store import Store, create_store
from strategy_factory.store.tables import metadata
from tests.conftest import shared_postgres_database

CHROMIUM = Path("/usr/bin/chromium")
LOCAL_URL = "http://127.0.0.1"
REQUIRE_BROWSER = os.environ.get("FACTORY_REQUIRE_BROWSER") == "1"
FINISHED = ("completed", "failed", "stopped")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
# Loose criteria the planted signal meets on the holdout (the defaults are for real data).
LOOSE_CRITERIA = {
    "sqn_100": {"min": 1},
    "profit_factor": {"min": 1.05},
    "trades": {"min": 30},
    "weekly_consistency": None,
}


def planted_bars(n_bars: int = 1500, seed: int = 3) -> Any:
    """Daily synthetic bars with a strongly predictive planted feature."""
    return synthetic_bars(n_bars, freq="1D", seed=seed, planted_strength=0.3, mean_duration=200)


@pytest.fixture(scope="session")
def bars_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A FACTORY_HOME whose bar store holds SYN (planted) and NOISE (random walk)."""
    home = tmp_path_factory.mktemp("service-home")
    catalog = BarCatalog(home / "bars")
    catalog.save("SYN", planted_bars())
    catalog.save("NOISE", synthetic_bars(1500, freq="1D", seed=11))
    return home


@pytest.fixture
def service_env(bars_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment a server process would have: FACTORY_HOME and no token."""
    monkeypatch.setenv("FACTORY_HOME", str(bars_home))
    monkeypatch.delenv("FACTORY_API_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return bars_home


@pytest.fixture(scope="session")
def postgres_service_url(postgres_server: str) -> Iterator[str]:
    """A migrated PostgreSQL database shared by this session's service tests."""
    with shared_postgres_database(postgres_server, "sf_service") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty store on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'factory.db'}"
    url = request.getfixturevalue("postgres_service_url")
    engine = create_engine(url)
    names = ", ".join(table.name for table in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"truncate {names} restart identity cascade"))
    engine.dispose()
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """The test's own view of the store the service uses."""
    with create_store(store_url) as opened:
        yield opened


class HeldExecutor:
    """Takes units of work and never finishes them: a run waits as if no worker existed."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, Future]] = []

    def submit(self, kind: str, payload: dict[str, Any], priority: float | None = None) -> Future:
        future: Future = Future()
        self.submitted.append((kind, future))
        return future

    def close(self) -> None:
        for _, future in self.submitted:
            future.cancel()


def inline(_store: Store, _run_id: str) -> Executor:
    """Every unit runs at once in the coordinator's thread."""
    return InlineExecutor()


def held(_store: Store, _run_id: str) -> Executor:
    """No unit ever finishes."""
    return HeldExecutor()


@contextmanager
def serving(
    store_url: str,
    executor_factory: Callable[[Store, str], Executor] = inline,
    **settings: Any,
) -> Iterator[TestClient]:
    """A started service (lifespan run: coordinator resumed) and a client for it.

    The client names the server ``127.0.0.1`` in its Host header, as a local browser
    would (TestClient's own ``testserver`` is no name the server trusts).
    """
    app = create_app(ServiceSettings(db=store_url, **settings), executor_factory=executor_factory)
    with TestClient(app, base_url=LOCAL_URL) as client:
        yield client


def post_json_text(
    client: TestClient, path: str, body: Any, headers: dict[str, str] | None = None
) -> Any:
    """POST ``body`` as ASCII JSON text: lone surrogates travel as ``\\ud800`` escapes and
    huge integers as their digits (httpx's ``json=`` cannot encode a lone surrogate)."""
    content = json.dumps(body, ensure_ascii=True)
    headers = {"Content-Type": "application/json", **(headers or {})}
    return client.post(path, content=content, headers=headers)


def strict_json(text: str) -> Any:
    """``text`` parsed as strict JSON: NaN and ±Infinity are errors, not numbers."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def client(service_env: Path, store_url: str) -> Iterator[TestClient]:
    """A client of a started service whose runs execute in-process."""
    with serving(store_url) as started:
        yield started


def wait_for(
    client: TestClient, run_id: str, statuses: tuple[str, ...] = FINISHED, timeout: float = 90
) -> dict[str, Any]:
    """Poll ``GET /runs/{id}`` until the run reaches one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/runs/{run_id}").json()["run"]
        if run["status"] in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} is still {run['status']} after {timeout}s: {run}")
        time.sleep(0.1)


def row_counts(url: str) -> dict[str, int]:
    """Rows in every table of the store, counted directly."""
    engine = create_engine(make_url(url))
    with engine.connect() as connection:
        counts = {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }
    engine.dispose()
    return counts


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, or a skip (a failure under FACTORY_REQUIRE_BROWSER=1)."""
    if not CHROMIUM.exists():
        if REQUIRE_BROWSER:
            pytest.fail(f"FACTORY_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM
