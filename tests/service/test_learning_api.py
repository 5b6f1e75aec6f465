"""The learning endpoints: settings validated whole (a refused body changes nothing),
alerts acknowledged once, the knowledge base by period, empty answers before any cycle."""

from __future__ import annotations

from fastapi.testclient import TestClient

from strategy_factory.learning.settings import load_settings
from strategy_factory.store import Store
from tests.store.test_learning import _promotion


def test_before_any_cycle_every_learning_read_says_why_it_is_empty(client: TestClient) -> None:
    meta = client.get("/api/learning/meta-model").json()
    assert meta["meta_model"] is None and "no meta-model yet" in meta["reason"]
    importance = client.get("/api/learning/feature-importance").json()
    assert importance["traits"] == [] and importance["version"] is None
    allocator = client.get("/api/learning/allocator").json()
    assert allocator == {"latest": None, "allocated": None, "history": [], "fund": None}
    assert client.get("/api/learning/overfit").json() == []
    assert client.get("/api/knowledge/latest").json() is None
    missing = client.get("/api/knowledge/2026-01-01")
    assert missing.status_code == 404 and "2026-01-01" in missing.json()["detail"]
    assert client.get("/api/knowledge/not-a-date").status_code == 422


def test_learning_settings_are_replaced_whole_and_a_refused_body_changes_nothing(
    client: TestClient, store: Store
) -> None:
    defaults = client.get("/api/settings/learning").json()
    assert defaults["schedule"]["enabled"] is False
    changed = {**defaults, "auto_demote": True}
    changed["monitor"] = {**defaults["monitor"], "confirm_bars": 7}
    answer = client.put("/api/settings/learning", json=changed)
    assert answer.status_code == 200 and answer.json() == changed
    assert load_settings(store).monitor.confirm_bars == 7

    for refused in (
        {**changed, "allocator": {**changed["allocator"], "max_weight": 1.5}},
        {**changed, "schedule": {"enabled": "sometimes"}},
        {**changed, "unknown_section": {}},
        {**changed, "search": {**changed["search"], "launch": -1}},
    ):
        response = client.put("/api/settings/learning", json=refused)
        assert response.status_code == 422, refused
        assert client.get("/api/settings/learning").json() == changed


def test_an_alert_is_acknowledged_once_and_stays_acknowledged(
    client: TestClient, store: Store
) -> None:
    run_id = store.runs.create("SP500", "elasticnet", {}, max_generations=1).id
    promotion = _promotion(store, run_id)
    alert, _ = store.alerts.raise_alert(
        promotion_id=promotion, test="cusum", statistic=9.0, threshold=6.0, evidence={"bars": 300}
    )
    listed = client.get("/api/learning/overfit", params={"open": True}).json()
    assert [row["id"] for row in listed] == [alert.id]
    ack = client.post(
        "/api/learning/overfit/ack", json={"alert_id": alert.id, "by": "ana", "note": "seen"}
    )
    assert ack.status_code == 200 and ack.json()["acknowledged_by"] == "ana"
    again = client.post("/api/learning/overfit/ack", json={"alert_id": alert.id, "by": "bob"})
    assert again.json()["acknowledged_by"] == "ana"
    assert client.get("/api/learning/overfit", params={"open": True}).json() == []
    assert client.get("/api/learning/overfit").json()[0]["note"] == "seen"
    assert client.post("/api/learning/overfit/ack", json={"alert_id": 10**6}).status_code == 404
    assert client.post("/api/learning/overfit/ack", json={"alert_id": "x"}).status_code == 422


def test_the_knowledge_base_answers_by_period(client: TestClient, store: Store) -> None:
    store.knowledge.write("2026-11-30", "# Older", {})
    store.knowledge.write("2026-12-01", "# Newer", {"alerts": 0})
    latest = client.get("/api/knowledge/latest").json()
    assert latest["period"] == "2026-12-01" and latest["markdown"] == "# Newer"
    assert latest["periods"] == ["2026-12-01", "2026-11-30"]
    assert client.get("/api/knowledge/2026-11-30").json()["markdown"] == "# Older"
