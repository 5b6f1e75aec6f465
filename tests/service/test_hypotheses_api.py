"""Hypotheses and indicators over HTTP, on both backends: tested and listed with the
family's correction, searched and listed; bad bodies answer 4xx per field and record
nothing; non-finite numbers never reach the JSON."""

from __future__ import annotations

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
