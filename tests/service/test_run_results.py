"""What the API says about a run's generations and best results, on runs recorded in known
states: every generation's real state, and top results that a few lucky trades cannot
fill."""

from __future__ import annotations

from fastapi.testclient import TestClient

from strategy_factory.store import Store
from tests.service.recorded_runs import (
    CELLS,
    record_promoted_run,
    record_running_run,
    selection_rows,
)


def test_every_generation_says_what_became_of_it(client: TestClient, store: Store) -> None:
    recorded = record_promoted_run(store)
    answer = client.get(f"/runs/{recorded.run_id}/generations").json()
    assert [g["state"] for g in answer] == [
        "judged",
        "same_as_parent",
        "judged",
        "not_simulated",
    ]
    assert [g["simulations"] for g in answer] == [CELLS, 0, CELLS, 0]
    assert "predictions equal its parent's" in answer[1]["note"]
    summary = client.get(f"/runs/{recorded.run_id}").json()
    assert [g["state"] for g in summary["generations"]][-1] == "not_simulated"
    running = record_running_run(store)
    pending = client.get(f"/runs/{running.run_id}/generations").json()
    assert [g["state"] for g in pending] == ["judged", "pending"]


def test_top_results_are_distinct_configurations_with_enough_trades_by_sqn_100(
    client: TestClient, store: Store
) -> None:
    recorded = record_promoted_run(store)
    answer = client.get(f"/runs/{recorded.run_id}/top?limit=100").json()
    assert (answer["ranked_by"], answer["min_trades"]) == ("sqn_100", 30)
    results = answer["results"]
    # The seed's two tickers trade alike, and generation 2 repeats the seed on NOISE.
    outcomes = {
        (row["trades"], round(row["sqn"], 9))
        for edge in (0.0, 0.5)
        for row in selection_rows(edge)
        if row["trades"] >= 30
    }
    assert len(results) == len(outcomes) < 2 * CELLS
    assert {(r["trades"], round(r["sqn"], 9)) for r in results} == outcomes
    assert min(r["trades"] for r in results) >= 30
    ranks = [r["sqn_100"] for r in results]
    assert ranks == sorted(ranks, reverse=True)
    assert sum(r["alike"] for r in results) == sum(
        1 for edge in (0.0, 0.5) for row in selection_rows(edge) if row["trades"] >= 30
    )
    best = results[0]
    assert (best["generation"], best["ticker"], best["trades"]) == (2, "SYN", 31)
    assert [g["generation"] for g in answer["per_generation"]] == [0, 2]
    assert all(g["trades"] >= 30 for g in answer["per_generation"])
    assert len(client.get(f"/runs/{recorded.run_id}/top").json()["results"]) == 10
    assert client.get("/runs/nope/top").status_code == 404
