"""Health, statistics, the bar store's symbols and features, and model importance."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from strategy_factory import __version__
from strategy_factory.data import BUNDLED
from strategy_factory.store import Job, Store
from tests.service.conftest import planted_bars, serving, wait_for
from tests.service.test_evolve import BASE


def test_health_names_the_version_and_the_store(client: TestClient, store: Store) -> None:
    health = client.get("/health").json()
    assert health == {
        "status": "ok",
        "version": __version__,
        "backend": store.backend,
        "store": store.url,
        "executor": {"executor": "queue"},  # no FACTORY_DASK_SCHEDULER: the job queue
    }


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_health_off_loopback_says_only_that_it_is_up(service_env: object, store_url: str) -> None:
    exposed = {"host": "0.0.0.0", "api_token": "t", "trusted_hosts": ["factory.internal"]}
    with serving(store_url, **exposed) as client:
        response = client.get("/health", headers={"Host": "factory.internal:8400"})
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}
    assert "sqlite" not in response.text and "factory.db" not in response.text


@pytest.mark.postgres
def test_an_unreachable_store_is_503(service_env: object, postgres_url: str) -> None:
    with serving(postgres_url) as client:
        assert client.get("/health").status_code == 200
        name = postgres_url.rsplit("/", 1)[1]
        admin = create_engine(postgres_url.rsplit("/", 1)[0] + "/postgres")
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'drop database "{name}" with (force)'))
        admin.dispose()
        for path in ("/health", "/runs", "/api/stats"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert "the store is unreachable" in response.json()["detail"]


def test_stats_count_what_the_store_holds(client: TestClient, store: Store) -> None:
    empty = client.get("/api/stats").json()
    assert empty["runs"] == dict.fromkeys(
        ["pending", "running", "completed", "failed", "stopped"], 0
    )
    assert empty["jobs"] == {"pending": 0, "running": 0, "done": 0, "failed": 0}
    assert (empty["promoted"], empty["live_workers"], empty["active_runs"]) == (0, 0, [])

    run_id = client.post("/evolve", json=BASE).json()["run_id"]
    wait_for(client, run_id)
    store.runs.create("SYN", "ElasticNet", {}, 1)
    store.queue.enqueue([Job("train", {"n": n}) for n in range(3)])
    store.workers.register("w1")
    stats = client.get("/api/stats").json()
    assert stats["runs"]["completed"] == 1
    assert stats["runs"]["pending"] == 1
    assert stats["jobs"]["pending"] == 3
    assert stats["promoted"] == len(store.promoted.recent())
    assert stats["live_workers"] == 1


def test_symbols_list_the_bar_store_bundled_first(client: TestClient) -> None:
    symbols = client.get("/api/features/symbols").json()
    names = [s["symbol"] for s in symbols]
    assert names[: len(BUNDLED)] == list(BUNDLED)
    assert {"SYN", "NOISE"} <= set(names)
    syn = next(s for s in symbols if s["symbol"] == "SYN")
    bars = planted_bars()
    assert syn["rows"] == len(bars)
    assert pd.Timestamp(syn["first"]) == bars.index[0]
    assert pd.Timestamp(syn["last"]) == bars.index[-1]
    assert syn["extra_columns"] == ["planted"]


def test_feature_columns_follow_symbol_and_references(client: TestClient) -> None:
    alone = client.get("/api/features/columns?symbol=syn").json()
    names = [f["name"] for f in alone["features"]]
    assert alone["symbol"] == "SYN"
    assert "exo_planted" in names
    assert "hour" not in names  # daily bars have no time of day
    assert all(f["description"] for f in alone["features"])
    both = client.get("/api/features/columns?symbol=SYN&reference=NOISE").json()
    extra = [f["name"] for f in both["features"] if f["name"] not in names]
    assert both["references"] == ["NOISE"]
    assert extra and all(name.startswith("ref_NOISE_") for name in extra)
    noise = [f["name"] for f in client.get("/api/features/columns?symbol=NOISE").json()["features"]]
    assert "exo_planted" not in noise


def test_feature_columns_errors(client: TestClient) -> None:
    assert client.get("/api/features/columns").status_code == 422
    missing = client.get("/api/features/columns?symbol=NOPE")
    assert missing.status_code == 404
    assert "unknown symbol 'NOPE'" in missing.json()["detail"]
    bad_reference = client.get("/api/features/columns?symbol=SYN&reference=NOPE")
    assert bad_reference.status_code == 404


def test_importance_ranks_the_planted_feature_first(client: TestClient, store: Store) -> None:
    run_id = client.post("/evolve", json=BASE).json()["run_id"]
    wait_for(client, run_id)
    seed = store.models.of_run(run_id, generation=0)[0]
    answer = client.get(f"/api/model/{seed.id}/importance").json()
    assert answer["model_id"] == seed.id
    assert answer["method"] == seed.importance["method"]
    scores = [f["score"] for f in answer["features"]]
    assert scores == sorted(scores, reverse=True)
    assert {f["feature"]: f["score"] for f in answer["features"]} == seed.importance["scores"]
    assert answer["features"][0]["feature"] == "exo_planted"  # the signal was found
    assert client.get("/api/model/nope/importance").status_code == 404
