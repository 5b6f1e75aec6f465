"""Real database outages during a run driven by a real server and its workers.

Each test starts a private PostgreSQL (``tests/pg_cluster.py``) and a real ``factory
serve`` with two local workers, starts a run, and disturbs the database while the run is
under way: a fast restart, a crash (``stop -m immediate``) with the server coming back
10 s later, eight short stop/start cycles late in the run. Two servers on one store
must not both drive a run. Every disturbed run must end exactly as an undisturbed run of
the same configuration: the same models (by fingerprint), the same simulated cells with
the same metrics, the same promotion — compared as a digest of the stored rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from strategy_factory.data import BarCatalog, synthetic_bars
from tests.pg_cluster import PrivatePostgres
from tests.service.conftest import LOOSE_CRITERIA
from tests.service.server import Server, serving

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FEATURES = [
    "exo_planted", "rsi_14", "ret_1", "vol_20", "macd", "bb_pos_20", "atr_14", "ret_5",
    "ret_10", "rsi_7", "vol_5", "vol_60", "stoch_k_14", "adx_14", "sma_ratio_20",
    "ema_ratio_50",
]  # fmt: skip
# Ten generations of a planted signal: long enough to disturb in the middle, and it
# promotes, so the promotion is part of what must come out the same.
RUN = {
    "symbol": "SYN",
    "max_generations": 10,
    "seed_features": FEATURES,
    "prune_fraction": 0.15,
    "min_features": 2,
    "regime_configs": [None, {"regime_trend": [0, 1]}],
    "criteria": LOOSE_CRITERIA,
    "min_dsr": 0,
    "early_stop": False,
}
# Short run leases, so a run whose driver lost the store is taken over within seconds.
SERVER_ENV = {"FACTORY_RUN_LEASE_SECONDS": "6"}
RUN_CEILING = 300.0  # a loaded CI machine; every wait below ends on the event itself


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A FACTORY_HOME with 3,000 daily bars of SYN carrying a planted signal."""
    folder = tmp_path_factory.mktemp("outage-home")
    bars = synthetic_bars(3000, freq="1D", seed=3, planted_strength=0.3, mean_duration=200)
    BarCatalog(folder / "bars").save("SYN", bars)
    return folder


def _get(server: Server, path: str) -> dict[str, Any] | None:
    """A JSON answer, or None while the server cannot answer (its store is away)."""
    try:
        response = httpx.get(f"{server.url}{path}", timeout=10)
    except httpx.TransportError:
        return None
    return response.json() if response.status_code == 200 else None


def wait_run(
    server: Server, run_id: str, done: Callable[[dict[str, Any]], bool] | None = None
) -> dict[str, Any]:
    """Poll the run until ``done`` holds (default: it finished), riding out outages."""
    finished = done or (lambda run: run["status"] in ("completed", "failed", "stopped"))
    deadline = time.monotonic() + RUN_CEILING
    while time.monotonic() < deadline:
        answer = _get(server, f"/runs/{run_id}")
        if answer is not None and finished(answer["run"]):
            return answer["run"]
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not get there in {RUN_CEILING}s:\n{server.tail()}")


def start_run(server: Server) -> str:
    """Post the run and return its id."""
    return httpx.post(f"{server.url}/evolve", json=RUN, timeout=60).json()["run_id"]


def digest(url: str, run_id: str) -> dict[str, Any]:
    """What a run stored, without ids or clocks: lineage, cells, promotions, counters."""
    engine = create_engine(url)
    queries = {
        "lineage": """
            select e.generation, c.fingerprint, p.fingerprint, e.pruned_features::text,
                   e.remaining_features::text, e.parent_sqn
            from evolution_log e join models c on c.id = e.child_model_id
            left join models p on p.id = e.parent_model_id
            where e.run_id = :run order by e.generation""",
        "cells": """
            select m.fingerprint, s.period, s.strategy_key, s.metrics::text
            from simulation_results s join models m on m.id = s.model_id
            where s.run_id = :run order by 1, 2, 3""",
        "promotions": """
            select m.fingerprint, p.strategy::text, p.selection_metrics::text,
                   p.holdout_metrics::text, p.configurations_tried, p.dsr, p.pbo
            from promoted_models p join models m on m.id = p.model_id
            where p.run_id = :run order by 1""",
        "run": """
            select status, stop_reason, promoted, configurations_tried, models_trained,
                   simulations_completed, current_generation
            from evolution_runs where id = :run""",
        "rows": """
            select (select count(*) from models), (select count(*) from model_artifacts),
                   (select count(*) from model_fingerprints),
                   (select count(*) from promoted_models)""",
    }
    with engine.connect() as connection:
        found = {
            name: [list(row) for row in connection.execute(text(query), {"run": run_id})]
            for name, query in queries.items()
        }
    engine.dispose()
    return json.loads(json.dumps(found, default=str))


@pytest.fixture(scope="module")
def undisturbed(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The digest of the run on a database nobody disturbs."""
    log = tmp_path_factory.mktemp("undisturbed") / "server.log"
    with (
        PrivatePostgres.create() as postgres,
        serving(home, postgres.create_database("calm"), log, env=SERVER_ENV) as server,
    ):
        run_id = start_run(server)
        run = wait_run(server, run_id)
        assert run["status"] == "completed" and run["promoted"], server.tail()
        yield digest(postgres.url_for("calm"), run_id)


def _disturbed(
    home: Path,
    tmp_path: Path,
    postgres: PrivatePostgres,
    when: Callable[[dict[str, Any]], bool],
    disturb: Callable[[], None],
) -> dict[str, Any]:
    url = postgres.create_database("disturbed")
    with serving(home, url, tmp_path / "server.log", env=SERVER_ENV) as server:
        run_id = start_run(server)
        reached = wait_run(server, run_id, lambda run: when(run) or run["finished_at"])
        assert reached["status"] == "running", f"finished before the outage:\n{server.tail()}"
        disturb()
        run = wait_run(server, run_id)
        assert run["status"] == "completed", server.tail()
        return digest(url, run_id)


def test_a_fast_restart_changes_nothing(
    home: Path, tmp_path: Path, private_postgres: PrivatePostgres, undisturbed: dict
) -> None:
    after = _disturbed(
        home,
        tmp_path,
        private_postgres,
        lambda run: run["models_trained"] >= 2,
        lambda: private_postgres.restart("fast"),
    )
    assert after == undisturbed


def test_a_crash_with_the_database_back_ten_seconds_later_changes_nothing(
    home: Path, tmp_path: Path, private_postgres: PrivatePostgres, undisturbed: dict
) -> None:
    def crash_and_recover() -> None:
        private_postgres.stop("immediate")
        time.sleep(10)  # longer than any retry of a single write: the run loses its driver
        private_postgres.start()

    after = _disturbed(
        home,
        tmp_path,
        private_postgres,
        lambda run: run["models_trained"] >= 2,
        crash_and_recover,
    )
    assert after == undisturbed


def test_a_flapping_database_late_in_the_run_changes_nothing(
    home: Path, tmp_path: Path, private_postgres: PrivatePostgres, undisturbed: dict
) -> None:
    cycles: list[int] = []

    def flap() -> None:
        cycles.append(private_postgres.flap(8, down_seconds=1.0, up_seconds=0.5).wait(120))

    after = _disturbed(
        home,
        tmp_path,
        private_postgres,
        lambda run: run["models_trained"] >= 5 and run["simulations_completed"] > 0,
        flap,
    )
    assert cycles == [8]
    assert after == undisturbed


def test_two_servers_on_one_store_drive_a_run_once(
    home: Path, tmp_path: Path, private_postgres: PrivatePostgres, undisturbed: dict
) -> None:
    url = private_postgres.create_database("shared")
    with (
        serving(home, url, tmp_path / "a.log", workers=1, env=SERVER_ENV) as first,
        serving(home, url, tmp_path / "b.log", workers=1, env=SERVER_ENV) as second,
    ):
        run_id = start_run(first)
        refused = httpx.post(f"{second.url}/runs/{run_id}/resume", timeout=30)
        assert refused.status_code == 409, refused.text
        drivers: set[str] = set()

        def watch(run: dict[str, Any]) -> bool:
            for name, server in (("first", first), ("second", second)):
                stats = _get(server, "/api/stats")
                if stats is not None and run_id in stats["active_runs"]:
                    drivers.add(name)
            return run["status"] in ("completed", "failed", "stopped")

        run = wait_run(first, run_id, watch)
        assert run["status"] == "completed", first.tail() + second.tail()
    assert drivers == {"first"}
    assert digest(url, run_id) == undisturbed
