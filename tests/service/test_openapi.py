"""The OpenAPI document lists every endpoint of the design with its schemas, and no input
of any shape makes the API answer 5xx (property-based, over the documented endpoints)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategy_factory.service.app import FiniteJSONResponse
from tests.service.conftest import held, serving
from tests.service.test_evolve import BASE

ENDPOINTS = {
    ("post", "/evolve"),
    ("post", "/evolve/batch"),
    ("get", "/runs"),
    ("get", "/runs/{run_id}"),
    ("get", "/runs/{run_id}/generations"),
    ("post", "/runs/{run_id}/stop"),
    ("post", "/runs/{run_id}/resume"),
    ("get", "/promoted"),
    ("get", "/promoted/{promoted_id}"),
    ("post", "/jobs/claim"),
    ("post", "/jobs/{job_id}/heartbeat"),
    ("post", "/jobs/{job_id}/complete"),
    ("post", "/jobs/{job_id}/fail"),
    ("get", "/jobs/pending"),
    ("post", "/workers/heartbeat"),
    ("get", "/workers"),
    ("get", "/health"),
    ("get", "/api/stats"),
    ("get", "/api/features/symbols"),
    ("get", "/api/features/columns"),
    ("get", "/api/model/{model_id}/importance"),
}
BODIES = {
    "/evolve": BASE,
    "/evolve/batch": {**{k: v for k, v in BASE.items() if k != "symbol"}, "symbols": ["SYN"]},
    "/jobs/claim": {"worker_id": "w", "kinds": ["train"], "lease_seconds": 5},
    "/jobs/1/heartbeat": {"lease_token": "t", "lease_seconds": 5, "worker_id": "w"},
    "/jobs/1/complete": {"lease_token": "t", "result": {"x": 1}},
    "/jobs/1/fail": {"lease_token": "t", "error": "E"},
    "/workers/heartbeat": {"worker_id": "w", "hostname": "h", "pid": 1, "current_job_id": None},
}
# Edges where a value stops fitting the store: 32/64-bit integers, NUL, over-long text.
edges = st.sampled_from(
    [0, -1, 2**31, 2**63, 2**70, -(2**63) - 1, 1e308, "\x00", "a\x00b", "x" * 300, "", "∞"]
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | edges,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_openapi_lists_every_endpoint_with_schemas(service_env: Path, store_url: str) -> None:
    with serving(store_url, executor_factory=held) as client:
        document = client.get("/openapi.json").json()
    listed = {(method, path) for path, item in document["paths"].items() for method in item}
    assert listed == ENDPOINTS
    for method, path in ENDPOINTS:
        operation = document["paths"][path][method]
        assert operation.get("description") or operation.get("summary"), path
        success = next(code for code in operation["responses"] if code.startswith("2"))
        schema = operation["responses"][success]["content"]["application/json"]["schema"]
        assert schema, (method, path)
        if method == "post" and path in {*BODIES, "/jobs/{job_id}/heartbeat"}:
            assert "requestBody" in operation, path
    request = document["components"]["schemas"]["EvolveRequest"]["properties"]
    design = {
        "symbol",
        "algorithm",
        "target_col",
        "target_transform",
        "max_generations",
        "timeframe",
        "data_options",
        "seed_features",
        "reference_symbols",
        "thresholds",
        "regime_configs",
        "criteria",
        "strategy",
    }
    assert design <= set(request)
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_no_input_makes_the_api_fail_with_5xx(service_env: Path, store_url: str) -> None:
    with serving(store_url, executor_factory=held) as client:

        @settings(
            max_examples=120,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            path = data.draw(st.sampled_from(sorted(BODIES)))
            base = BODIES[path]
            whole = data.draw(st.booleans())
            if whole:
                body = data.draw(json_values)
            else:
                field = data.draw(st.sampled_from(sorted(base)))
                body = {**base, field: data.draw(json_values)}
            response = client.post(path, json=body)
            assert response.status_code < 500, (path, body, response.text)
            json.loads(response.text)  # always valid JSON (no NaN)

        check()

        @settings(max_examples=60, deadline=None)
        @given(
            segment=st.text(min_size=1, max_size=16) | edges.map(str),
            value=st.text(max_size=16) | edges.map(str),
            template=st.sampled_from(
                [
                    "/runs/{}",
                    "/runs/{}/generations",
                    "/promoted/{}",
                    "/api/model/{}/importance",
                    "/runs?status={}",
                    "/runs?limit={}",
                    "/jobs/pending?limit={}",
                    "/api/features/columns?symbol={}",
                    "/promoted?run_id={}",
                    "/jobs/{}/complete",
                ]
            ),
        )
        def check_reads(segment: str, value: str, template: str) -> None:
            path = template.format(quote(segment if "?" not in template else value, safe=""))
            if path.startswith("/jobs/"):
                response = client.post(path, json={"lease_token": value, "result": {}})
            else:
                response = client.get(path)
            assert response.status_code < 500, (path, response.text)

        check_reads()


def test_undefined_metrics_are_written_as_null() -> None:
    content = {"sqn": math.nan, "rows": [math.inf, {"pf": -math.inf, "trades": 3}], "ok": 1.5}
    body = json.loads(FiniteJSONResponse(content).body)
    assert body == {"sqn": None, "rows": [None, {"pf": None, "trades": 3}], "ok": 1.5}
