"""Hypotheses and indicators over HTTP, on both backends: tested and listed with the
family's correction, searched and listed; bad bodies answer 4xx per field and record
nothing; non-finite numbers never reach the JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.service.conftest import row_counts, strict_json

PLANTED = {
    "name": "planted-up",
    "symbol": "SYN",
    "feature": "exo_planted",
    "k": 1.5,
    "side": "above",
    "expect": "up",
}


def test_hypotheses_are_tested_corrected_and_listed(client: TestClient, store_url: str) -> None:
    before = row_counts(store_url)["hypothesis_tests"]
    walk = {**PLANTED, "name": "noise-up", "symbol": "NOISE", "feature": "ret_1"}
    answer = client.post("/api/hypotheses", json={"hypotheses": [PLANTED, walk]})
    assert answer.status_code == 200, answer.text
    body = strict_json(answer.text)
    planted, noise = body["hypotheses"]
    assert planted["confirmed_now"] and planted["effect"] > 0 and planted["events"] >= 30
    assert planted["family_size_at_test"] == body["family_size"] == before + 2
    assert "BH-adjusted p" in planted["principle"]
    assert noise["adjusted_p_now"] >= planted["adjusted_p_now"]
    listed = strict_json(client.get("/api/hypotheses?limit=2").text)
    assert [h["name"] for h in listed["hypotheses"]] == ["noise-up", "planted-up"]


def test_bad_hypotheses_answer_per_field_and_record_nothing(
    client: TestClient, store_url: str
) -> None:
    before = row_counts(store_url)
    wrong = client.post("/api/hypotheses", json={"hypotheses": [{**PLANTED, "horizon": 0}]})
    assert wrong.status_code == 422
    assert any(problem["loc"][-1] == "horizon" for problem in wrong.json()["detail"])
    unknown = client.post(
        "/api/hypotheses", json={"hypotheses": [{**PLANTED, "feature": "nonsense"}]}
    )
    assert unknown.status_code == 400 and "unknown feature 'nonsense'" in unknown.json()["detail"]
    missing = client.post("/api/hypotheses", json={"hypotheses": [{**PLANTED, "symbol": "NONE"}]})
    assert missing.status_code == 404
    formula = client.post(
        "/api/hypotheses", json={"hypotheses": [{**PLANTED, "feature": "formula:eval(close)"}]}
    )
    assert formula.status_code == 400 and "unknown operation 'eval'" in formula.json()["detail"]
    assert row_counts(store_url) == before


def test_indicators_are_discovered_and_listed(client: TestClient, store_url: str) -> None:
    before = row_counts(store_url)
    too_big = client.post(
        "/api/indicators/discover", json={"symbol": "SYN", "generations": 200, "children": 500}
    )
    assert too_big.status_code == 422 and "50,000" in too_big.text
    assert row_counts(store_url) == before
    answer = client.post(
        "/api/indicators/discover", json={"symbol": "SYN", "generations": 2, "keep": 3}
    )
    assert answer.status_code == 200, answer.text
    found = strict_json(answer.text)
    assert found["trials"] > 0 and len(found["indicators"]) == 3
    listed = strict_json(client.get("/api/indicators?limit=3").text)
    assert {i["formula"] for i in listed} == {i["formula"] for i in found["indicators"]}


def test_hypotheses_queue_for_the_learning_cycle(client: TestClient, store_url: str) -> None:
    before = row_counts(store_url)
    asked = datetime.now(UTC)
    queued = client.post("/api/hypotheses/queue", json={"by": "desk", "hypotheses": [PLANTED]})
    assert queued.status_code == 202, queued.text
    [item] = strict_json(queued.text)
    assert item["name"] == "planted-up" and item["queued_by"] == "desk"
    assert item["spec"]["feature"] == "exo_planted"
    # The store's clock is the database's: a second's slack for SQLite's whole seconds.
    queued_at = datetime.fromisoformat(item["queued_at"])
    assert asked - timedelta(seconds=1) <= queued_at <= datetime.now(UTC)
    assert strict_json(client.get("/api/hypotheses/queue").text) == [item]
    after = row_counts(store_url)
    assert after["hypothesis_queue"] == before["hypothesis_queue"] + 1
    assert after["hypothesis_tests"] == before["hypothesis_tests"]  # tested by the cycle
    twice = {"by": "desk", "hypotheses": [PLANTED, PLANTED]}
    assert client.post("/api/hypotheses/queue", json=twice).status_code == 400
    nobody = client.post("/api/hypotheses/queue", json={"by": "", "hypotheses": [PLANTED]})
    assert nobody.status_code == 422 and "by" in nobody.text
    assert row_counts(store_url) == after


def test_a_transfer_of_an_unknown_promotion_or_a_bad_body_starts_nothing(
    client: TestClient, store_url: str
) -> None:
    before = row_counts(store_url)
    unknown = client.post("/api/transfer", json={"promotion_id": "nope", "symbols": ["SYN"]})
    assert unknown.status_code == 404, unknown.text
    twice = client.post("/api/transfer", json={"promotion_id": "nope", "symbols": ["A", "A"]})
    assert twice.status_code == 422 and "each symbol once" in twice.text
    assert row_counts(store_url) == before
