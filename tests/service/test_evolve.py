"""``POST /evolve`` and ``/evolve/batch``: the body maps onto EvolveConfig, runs start and
finish, and every kind of mistake answers its status code with nothing recorded."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient

from strategy_factory.evolution import EvolveConfig
from strategy_factory.store import Store
from tests.service.conftest import LOOSE_CRITERIA, row_counts, wait_for

SEEDS = ["exo_planted", "rsi_14", "ret_1", "macd_hist", "vol_20", "bb_pos_20", "ret_5", "atr_14"]
BASE: dict[str, Any] = {
    "symbol": "SYN",
    "max_generations": 2,
    "seed_features": SEEDS,
    "regime_configs": [None],
    "criteria": LOOSE_CRITERIA,
    "min_dsr": 0,
    "strategy": {"z_limits": [None], "regime_filters": [None], "threshold_quantiles": [0, 0.5]},
}


def test_a_run_is_recorded_started_and_finished(client: TestClient, store: Store) -> None:
    body = {**BASE, "thresholds": [0.0, 0.001], "target_transform": "pct_change"}
    response = client.post("/evolve", json=body)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "pending"
    assert accepted["symbol"] == "SYN"

    run = wait_for(client, accepted["run_id"])
    assert run["status"] == "completed"
    stored = EvolveConfig.load(store.runs.get(accepted["run_id"]).config["evolve"])
    assert stored.strategy.thresholds == [0.0, 0.001]  # the design's name, mapped
    assert stored.target_transform == "pct_change"
    assert stored.criteria.sqn_100 is not None and stored.criteria.sqn_100.min == 1
    assert stored.criteria.weekly_consistency is None
    assert stored.seed_features == SEEDS
    assert len(store.models.of_run(accepted["run_id"])) == run["models_trained"] >= 1


def test_a_planted_signal_is_promoted_and_shown_everywhere(
    client: TestClient, store: Store
) -> None:
    run_id = client.post("/evolve", json=BASE).json()["run_id"]
    run = wait_for(client, run_id)
    assert run["promoted"], run
    summary = client.get(f"/runs/{run_id}").json()
    assert summary["verdict"].startswith("promoted")
    assert run["promotion_id"] in summary["verdict"]
    [promotion] = summary["promoted"]
    assert client.get("/promoted").json()[0]["id"] == promotion["id"]
    assert client.get("/api/stats").json()["promoted"] == 1


def _problems(response: Any) -> str:
    return response.json()["message"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"symbol": None}, "body.symbol", "valid string"),
        ({"max_generations": "many"}, "body.max_generations", "valid integer"),
        ({"max_generations": 0}, "body.max_generations", "greater than or equal to 1"),
        ({"criteria": {"sqn_100": {"min": 5, "max": 3}}}, "body.criteria.sqn_100", "swap them"),
        ({"generations": 3}, "body.generations", "Extra inputs are not permitted"),
        ({"thresholds": "high"}, "body.thresholds", "valid list"),
        ({"reference_symbols": ["SYN"]}, "body", "cannot be its own reference symbol"),
        (
            {"thresholds": [0.1], "strategy": {"thresholds": [0.2]}},
            "body",
            "thresholds or strategy.thresholds, not both",
        ),
        ({"algorithm": "nope"}, "body", "unknown algorithm 'nope'"),
        ({"algorithm": "this:s"}, "body", "'this:s' is not allow-listed"),
        ({"grid": {"alpha": [-1]}}, "body", "alpha must be above 0"),
        ({"grid": {"alpha": [1e-3 * k for k in range(1, 10**5)]}}, "body", "at most 100"),
        ({"grid": {"alpha": ["x"]}}, "body", "alpha must be a number"),
        ({"params": {"max_iter": "lots"}}, "body", "max_iter must be a whole number"),
        ({"strategy": {"fee_bps": 1e308}}, "body.strategy.fee_bps", "less than or equal to 1000"),
        ({"strategy": {"z_limits": [-1]}}, "body.strategy.z_limits", "greater than 0"),
        ({"walk_forward": {"folds": 10**6}}, "body.walk_forward.folds", "less than or equal"),
        ({"thresholds": [0.1] * 10**5}, "body.thresholds", "at most 100 items"),
    ],
)
def test_malformed_bodies_are_422_with_a_message_per_field(
    client: TestClient, store_url: str, change: dict[str, Any], field: str, words: str
) -> None:
    before = row_counts(store_url)
    response = client.post("/evolve", json={**BASE, **change})
    assert response.status_code == 422, response.text
    assert field in _problems(response)
    assert words in _problems(response)
    assert all("loc" in d and "msg" in d for d in response.json()["detail"])
    assert row_counts(store_url) == before
    assert "this" not in sys.modules  # nothing named by a request is ever imported


def test_a_missing_body_field_is_named(client: TestClient) -> None:
    response = client.post("/evolve", json={"max_generations": 2})
    assert response.status_code == 422
    assert "body.symbol: Field required" in _problems(response)


def test_an_unknown_symbol_is_404_and_names_the_known_ones(
    client: TestClient, store_url: str
) -> None:
    before = row_counts(store_url)
    response = client.post("/evolve", json={**BASE, "symbol": "NOPE"})
    assert response.status_code == 404
    assert "unknown symbol 'NOPE'" in response.json()["detail"]
    assert "SYN" in response.json()["detail"]
    assert row_counts(store_url) == before


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"seed_features": ["exo_planted", "rsi_14", "no_such_feature"]}, "no_such_feature"),
        ({"strategy": {"regime_filters": [{"regime_vix": [0]}]}}, "regime_vix"),
        ({"symbol": "bad symbol!"}, "is not a valid name"),
        ({"data_options": {"holdout_fraction": 0.02}}, "at least 64 usable bars"),
    ],
)
def test_impossible_configs_are_400_saying_what_to_fix(
    client: TestClient, store_url: str, change: dict[str, Any], words: str
) -> None:
    before = row_counts(store_url)
    response = client.post("/evolve", json={**BASE, **change})
    assert response.status_code == 400, response.text
    assert words in response.json()["detail"]
    assert row_counts(store_url) == before


def test_a_batch_starts_one_run_per_symbol(client: TestClient) -> None:
    shared = {k: v for k, v in BASE.items() if k != "symbol"} | {"seed_features": SEEDS[1:]}
    response = client.post("/evolve/batch", json={**shared, "symbols": ["SYN", "NOISE"]})
    assert response.status_code == 202, response.text
    runs = response.json()["runs"]
    assert [r["symbol"] for r in runs] == ["SYN", "NOISE"]
    finished = [wait_for(client, r["run_id"]) for r in runs]
    assert [r["status"] for r in finished] == ["completed", "completed"]


@pytest.mark.parametrize(
    ("symbols", "status", "words"),
    [
        (["SYN", "NOPE", "NOISE"], 404, "unknown symbol 'NOPE'"),
        (["SYN", "syn"], 422, "symbols lists SYN more than once"),
        ([], 422, "at least 1 item"),
    ],
)
def test_a_batch_with_one_bad_symbol_records_nothing(
    client: TestClient, store_url: str, symbols: list[str], status: int, words: str
) -> None:
    shared = {k: v for k, v in BASE.items() if k != "symbol"}
    before = row_counts(store_url)
    response = client.post("/evolve/batch", json={**shared, "symbols": symbols})
    assert response.status_code == status, response.text
    assert words in response.text
    assert row_counts(store_url) == before


def test_a_batch_whose_data_check_fails_for_a_later_symbol_records_nothing(
    client: TestClient, store_url: str
) -> None:
    shared = {k: v for k, v in BASE.items() if k != "symbol"}
    before = row_counts(store_url)
    # SYN has the planted feature, NOISE has not: SYN alone would be fine.
    response = client.post("/evolve/batch", json={**shared, "symbols": ["SYN", "NOISE"]})
    assert response.status_code == 400
    assert "exo_planted are not available for NOISE" in response.json()["detail"]
    assert row_counts(store_url) == before


def test_a_batch_config_impossible_for_one_symbol_records_nothing(
    client: TestClient, store_url: str
) -> None:
    shared = {k: v for k, v in BASE.items() if k != "symbol"}
    before = row_counts(store_url)
    body = {**shared, "symbols": ["NOISE", "SYN"], "reference_symbols": ["NOISE"]}
    response = client.post("/evolve/batch", json=body)
    assert response.status_code == 422
    assert "NOISE cannot be its own reference symbol" in _problems(response)
    assert row_counts(store_url) == before


def test_a_criteria_preset_is_named_in_the_body(client: TestClient, store: Store) -> None:
    accepted = client.post("/evolve", json={**BASE, "criteria": "evidence"})
    assert accepted.status_code == 202, accepted.text
    stored = EvolveConfig.load(store.runs.get(accepted.json()["run_id"]).config["evolve"])
    assert stored.criteria_name == "evidence" and stored.criteria.holdout_p is not None
    refused = client.post("/evolve", json={**BASE, "criteria": "lenient"})
    assert refused.status_code == 422
    assert "unknown criteria preset 'lenient'; presets: holy_grail, evidence" in _problems(refused)
