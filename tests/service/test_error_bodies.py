"""Error bodies stay small whatever the input: a value is echoed as a short prefix and its
length, only the first problems are listed, and the message still says what to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from strategy_factory.errors import MOST_PROBLEMS
from tests.service.conftest import held, post_json_text, serving, strict_json
from tests.service.test_evolve import BASE

BOUND = 8_192  # bytes of any error body
HUGE = 500_000  # characters of a value (within the 1 MiB body limit)


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert len(response.content) < BOUND, len(response.content)
    return strict_json(response.text)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_huge_value_comes_back_as_a_prefix_and_its_length(
    service_env: Path, store_url: str
) -> None:
    with serving(store_url, executor_factory=held) as client:
        # Bounded fields are refused by their length, the value never echoed.
        for field in ("timeframe", "symbol", "algorithm"):
            refused = _error(
                client.post("/evolve", json={**BASE, field: "x y " * (HUGE // 4)}), 422
            )
            assert "String should have at most" in refused["message"]
            assert f"body.{field}" in refused["message"]
        columns = _error(client.get(f"/api/features/columns?symbol={'Q' * 60_000}"), 400)
        assert "is not a valid name" in columns["detail"]
        unknown = _error(client.get("/api/features/columns?symbol=SYN&reference=NOPE"), 404)
        assert "unknown symbol 'NOPE'" in unknown["detail"]
        for key in ("k" * HUGE, "k " * (HUGE // 2)):
            extra = _error(client.post("/evolve", json={**BASE, key: 1}), 422)
            assert "Extra inputs are not permitted" in extra["message"]
        token = _error(client.post("/jobs/1/complete", json={"lease_token": "t" * HUGE}), 422)
        assert "body.result: Field required" in token["message"]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_many_problems_list_the_first_and_count_the_rest(service_env: Path, store_url: str) -> None:
    with serving(store_url, executor_factory=held) as client:
        wrong = [1] * 10_000
        body = _error(client.post("/evolve", json={**BASE, "seed_features": wrong}), 422)
        assert len(body["detail"]) == MOST_PROBLEMS
        assert body["detail"][0]["loc"] == ["body", "seed_features", 0]
        assert body["message"].endswith(f"and {10_000 - MOST_PROBLEMS} more problems")
        deep: Any = "x"
        for _ in range(500):
            deep = {"k" * 1_000: deep}
        nested = _error(post_json_text(client, "/evolve", {**BASE, "criteria": deep}), 422)
        assert all(len(entry["loc"]) <= 6 for entry in nested["detail"])
