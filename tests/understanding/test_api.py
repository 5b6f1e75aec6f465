"""``GET /api/diagnose/{id}`` and ``POST /api/audit`` against the real service."""

from __future__ import annotations

import os

from strategy_factory.data import BarCatalog
from strategy_factory.understanding import diagnose
from tests.learning.conftest import Promoted
from tests.service.conftest import serving
from tests.understanding.test_audit import REF, SYM, config


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
