"""The OpenAPI document lists every endpoint of the design with its schemas, and no input
of any shape makes the API answer 5xx (property-based, over the documented endpoints)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategy_factory.service.app import FiniteJSONResponse
from tests.service.conftest import held, serving, strict_json, wait_for
from tests.service.test_evolve import BASE
from tests.test_json_convention import no_number_strings, strict
from tests.workflow.conftest import small_workflow

ENDPOINTS = {
    ("post", "/evolve"),
    ("post", "/evolve/batch"),
    ("get", "/runs"),
    ("get", "/runs/{run_id}"),
    ("get", "/runs/{run_id}/generations"),
    ("get", "/runs/{run_id}/top"),
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
    ("post", "/workflows"),
    ("get", "/workflows"),
    ("get", "/workflows/{workflow_id}"),
    ("post", "/workflows/{workflow_id}/resume"),
    ("get", "/api/learning/meta-model"),
    ("get", "/api/learning/meta-model/history"),
    ("get", "/api/learning/feature-importance"),
    ("get", "/api/learning/allocator"),
    ("get", "/api/learning/overfit"),
    ("post", "/api/learning/overfit/ack"),
    ("get", "/api/knowledge/latest"),
    ("get", "/api/knowledge/{period}"),
    ("get", "/api/settings/learning"),
    ("put", "/api/settings/learning"),
    ("post", "/api/learning/allocator/rebalance"),
    ("post", "/api/learning/cycle/run"),
    ("get", "/api/learning/cycles"),
    ("get", "/api/diagnose/{subject_id}"),
    ("post", "/api/audit"),
    ("get", "/api/champions"),
    ("post", "/api/champions/challenge"),
    ("post", "/api/champions/challenges/{challenge_id}/approve"),
    ("post", "/api/champions/{slot}/restore"),
    ("get", "/api/champions/log"),
    ("get", "/api/champions/{slot}/forward"),
    ("post", "/api/hypotheses/queue"),
    ("get", "/api/hypotheses/queue"),
    ("post", "/api/transfer"),
    ("get", "/api/transfer"),
    ("post", "/api/hypotheses"),
    ("get", "/api/hypotheses"),
    ("post", "/api/indicators/discover"),
    ("get", "/api/indicators"),
    ("post", "/api/report-validations"),
    ("get", "/api/report-validations"),
    ("get", "/api/report-validations/{validation_id}"),
}
BODIES = {
    "/evolve": BASE,
    "/evolve/batch": {**{k: v for k, v in BASE.items() if k != "symbol"}, "symbols": ["SYN"]},
    "/jobs/claim": {"worker_id": "w", "kinds": ["train"], "lease_seconds": 5},
    "/jobs/1/heartbeat": {"lease_token": "t", "lease_seconds": 5, "worker_id": "w"},
    "/jobs/1/complete": {"lease_token": "t", "result": {"x": 1}},
    "/jobs/1/fail": {"lease_token": "t", "error": "E"},
    "/workers/heartbeat": {"worker_id": "w", "hostname": "h", "pid": 1, "current_job_id": None},
    "/workflows": small_workflow("SYN"),
    "/workflows/wf-1/resume": {"from_phase": "validation"},
    "/api/learning/overfit/ack": {"alert_id": 1, "by": "analyst", "note": "seen"},
    "/api/audit": {"run_id": "r-1"},
    "/api/champions/challenge": {"slot": "SP500", "challenger": "abc123", "by": "analyst"},
    "/api/champions/challenges/abc123/approve": {"by": "analyst"},
    "/api/champions/SP500/restore": {"by": "analyst"},
    "/api/hypotheses/queue": {
        "by": "analyst",
        "hypotheses": [{"symbol": "SYN", "feature": "exo_planted", "k": 2, "expect": "up"}],
    },
    "/api/transfer": {"promotion_id": "abc123", "symbols": ["MSFT"]},
    "/api/report-validations": {"run_id": "r-1"},
}
# Values the JSON text of a body holds that Python values cannot say as json.dumps writes
# them: lone surrogates (httpx's json= cannot even encode them) and numbers beyond floats.
# Drawn as ASCII markers, so a failing example prints; raw_json() swaps in the real text.
LONE_HIGH, LONE_LOW, BEYOND_FLOAT = "<lone-ud800>", "<lone-udfff>", "<number-1e400>"
RAW_TEXT = {LONE_HIGH: "\\ud800", LONE_LOW: "\\udfff", f'"{BEYOND_FLOAT}"': "-1e400"}
HUGE_ARRAY = [0] * 10**5
LONG_TEXT = "x" * 10**5
# Edges where a value stops fitting the store or the process: 32/64-bit integers, floats
# at their limits and beyond, integers of hundreds of digits, NUL, lone surrogates,
# over-long text and arrays.
SCALAR_EDGES = [
    0,
    -1,
    2**31,
    2**63,
    2**70,
    -(2**63) - 1,
    1e308,
    -1e308,
    2**1000,
    10**400,
    BEYOND_FLOAT,
    "\x00",
    "a\x00b",
    LONE_HIGH,
    f"a{LONE_LOW}b",
    f"{LONE_LOW}{LONE_HIGH}",
    "x" * 300,
    "",
    "∞",
]
EXTREMES = [LONE_HIGH, 10**400, 2**1000, 1e308, -1e308, BEYOND_FLOAT, HUGE_ARRAY, LONG_TEXT]
edges = st.sampled_from([*SCALAR_EDGES, HUGE_ARRAY, LONG_TEXT, [LONE_HIGH] * 1000])
keys = st.text(max_size=8) | st.sampled_from([LONE_HIGH, f"k{LONE_LOW}", "k" * 1000])
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | edges,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
ERROR_BODY_BOUND = 16_384  # bytes


def raw_json(value: object) -> str:
    """``value`` as ASCII JSON text, its markers replaced by the text they stand for."""
    text = json.dumps(value, ensure_ascii=True)
    for marker, raw in RAW_TEXT.items():
        text = text.replace(marker, raw)
    return text


def assert_answered(response: httpx.Response, what: object) -> None:
    """Below 500, strict JSON (no NaN or Infinity), and a bounded body."""
    assert response.status_code < 500, (ascii(what)[:2000], response.text[:2000])
    strict_json(response.text)
    assert len(response.content) < ERROR_BODY_BOUND, (ascii(what)[:2000], len(response.content))


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
    # The body of POST /workflows is the workflow config itself, each phase type named.
    workflow = document["components"]["schemas"]["WorkflowConfig"]
    assert {"name", "data", "costs", "classifiers", "phases"} <= set(workflow["properties"])
    phases = workflow["properties"]["phases"]["items"]
    assert set(phases["discriminator"]["mapping"]) == {
        "parameter_discovery",
        "regime_analysis",
        "ensemble_optimization",
        "validation",
    }
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_no_input_makes_the_api_fail_with_5xx(service_env: Path, store_url: str) -> None:
    headers = {"Content-Type": "application/json"}
    # Workflows a valid body starts wait for a slot that never frees (no work is run).
    with serving(store_url, executor_factory=held, workflow_slots=0) as client:

        def post(path: str, body: object) -> None:
            response = client.post(path, content=raw_json(body), headers=headers)
            assert_answered(response, (path, body))

        # Every extreme in every field of every body, once.
        for path, base in BODIES.items():
            for field in base:
                for extreme in EXTREMES:
                    post(path, {**base, field: extreme})

        @settings(
            max_examples=120,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            path = data.draw(st.sampled_from(sorted(BODIES)))
            base = BODIES[path]
            if data.draw(st.booleans()):
                post(path, data.draw(json_values))
            else:
                field = data.draw(st.sampled_from(sorted(base)))
                post(path, {**base, field: data.draw(json_values)})

        check()

        path_edges = st.sampled_from([*SCALAR_EDGES, "x" * 2_000]).map(str)

        @settings(max_examples=60, deadline=None)
        @given(
            segment=st.text(min_size=1, max_size=16) | path_edges,
            value=st.text(max_size=16) | path_edges,
            template=st.sampled_from(
                [
                    "/runs/{}",
                    "/runs/{}/generations",
                    "/workflows/{}",
                    "/workflows?state={}",
                    "/workflows?limit={}",
                    "/api/knowledge/{}",
                    "/api/learning/overfit?open={}",
                    "/api/learning/allocator?limit={}",
                    "/ui/workflows/{}",
                    "/promoted/{}",
                    "/api/model/{}/importance",
                    "/api/diagnose/{}",
                    "/api/diagnose/r-1?period={}",
                    "/api/report-validations/{}",
                    "/api/report-validations/{}/report",
                    "/api/report-validations/0123456789ab/screenshots/{}",
                    "/api/report-validations?limit={}",
                    "/runs?status={}",
                    "/runs?limit={}",
                    "/jobs/pending?limit={}",
                    "/api/features/columns?symbol={}",
                    "/promoted?run_id={}",
                    "/jobs/{}/complete",
                    "/ui/runs/{}",
                    "/static/{}",
                ]
            ),
        )
        def check_reads(segment: str, value: str, template: str) -> None:
            text = segment if "?" not in template else value
            for marker, raw in RAW_TEXT.items():
                text = text.replace(marker, json.loads(f'"{raw}"') if "lone" in marker else raw)
            path = template.format(quote(text, safe="", errors="surrogatepass"))
            if path.startswith("/jobs/"):
                body = {"lease_token": value, "result": {}}
                response = client.post(path, content=raw_json(body), headers=headers)
            else:
                response = client.get(path)
            if not path.startswith(("/ui/", "/static/")):
                assert_answered(response, path)
            assert response.status_code < 500, (path, response.text[:2000])

        check_reads()


def test_undefined_metrics_are_written_as_null() -> None:
    content = {"sqn": math.nan, "rows": [math.inf, {"pf": -math.inf, "trades": 3}], "ok": 1.5}
    body = json.loads(FiniteJSONResponse(content).body)
    assert body == {"sqn": None, "rows": [None, {"pf": None, "trades": 3}], "ok": 1.5}


def test_every_answer_about_a_finished_run_is_strict_json(client: Any) -> None:
    run_id = client.post("/evolve", json=BASE).json()["run_id"]
    wait_for(client, run_id)
    summary = strict(client.get(f"/runs/{run_id}").text)
    paths = [
        "/runs",
        f"/runs/{run_id}",
        f"/runs/{run_id}/generations",
        f"/runs/{run_id}/top",
        "/promoted",
        "/api/stats",
        "/jobs/pending",
        "/workers",
        "/health",
        "/api/features/symbols",
        "/api/features/columns?symbol=SYN",
        "/workflows",
    ]
    paths += [f"/promoted/{p['id']}" for p in summary["promoted"]]
    paths += [f"/api/model/{g['model_id']}/importance" for g in summary["generations"]]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        no_number_strings(strict(response.text), path)
