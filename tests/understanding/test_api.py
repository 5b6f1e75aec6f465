"""``GET /api/diagnose/{id}``, ``POST /api/audit`` and ``GET /api/transfer`` against the real
service."""

from __future__ import annotations

import os

from strategy_factory.data import BarCatalog
from strategy_factory.understanding import diagnose
from tests.learning.conftest import STORED, Promoted
from tests.service.conftest import held, serving
from tests.understanding.test_audit import REF, SYM, config
from tests.understanding.test_transfer import OTHER


def test_diagnose_over_http_equals_the_library(promoted: Promoted) -> None:
    with serving(os.environ["FACTORY_DB"], workers=0) as client:
        answer = client.get(f"/api/diagnose/{promoted.promotion.id}", params={"period": "holdout"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == diagnose(promoted.store, promoted.promotion.id)
        missing = client.get("/api/diagnose/nope")
        assert missing.status_code == 404
        assert "no promotion or run 'nope'" in missing.text
        wrong = client.get(f"/api/diagnose/{promoted.promotion.id}", params={"period": "later"})
        assert wrong.status_code == 422


def test_audit_over_http(catalog: BarCatalog) -> None:
    catalog.save("SYM", SYM)
    catalog.save("REF", REF)
    with serving(os.environ["FACTORY_DB"], workers=0) as client:
        clean = client.post("/api/audit", json={"config": config().model_dump(mode="json")})
        assert clean.status_code == 200, clean.text
        assert clean.json()["clean"] is True
        body = config(strategy={"thresholds": [3.0]}).model_dump(mode="json")
        broken = client.post("/api/audit", json={"config": body})
        assert [f["kind"] for f in broken.json()["findings"]] == ["never_trades"]
        both = client.post("/api/audit", json={"run_id": "x", "config": body})
        assert both.status_code == 422
        assert "either run_id or config" in both.text
        missing = client.post("/api/audit", json={"run_id": "nope"})
        assert missing.status_code == 404


def test_transfer_runs_are_listed_with_their_promotion_over_http(promoted: Promoted) -> None:
    promoted.catalog.save("SYN2", OTHER.iloc[:STORED])
    promotion = promoted.promotion.id
    with serving(os.environ["FACTORY_DB"], held, workers=0) as client:
        assert client.get("/api/transfer").json() == []  # the promoted run is no transfer
        body = {"promotion_id": promotion, "symbols": ["SYN2"], "generations": 1}
        started = client.post("/api/transfer", json=body)
        assert started.status_code == 202, started.text
        [launched] = started.json()
        [listed] = client.get("/api/transfer").json()
        assert listed["id"] == launched["run_id"] and listed["symbol"] == "SYN2"
        assert listed["promotion"] == promotion and listed["promoted_on"] == "SYN"
        assert listed["max_generations"] == 1 and listed["outcome"] is None  # not finished
        assert len(client.get("/runs").json()) == 2
        assert client.get("/api/transfer", params={"limit": 0}).status_code == 422
