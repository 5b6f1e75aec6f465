"""The API token: required by every mutating and job/worker endpoint once set, by reads
too off loopback, and by the server itself before it listens on the network."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from strategy_factory.cli import app as cli
from strategy_factory.errors import FactoryError
from strategy_factory.service import ServiceSettings, is_loopback
from tests.service.conftest import held, row_counts, serving
from tests.service.test_evolve import BASE
from tests.workflow.conftest import small_workflow

TOKEN = "s3cret-token-for-tests"
GOOD = {"Authorization": f"Bearer {TOKEN}"}
WRITES = [
    ("/evolve", BASE),
    ("/evolve/batch", {"symbols": ["SYN"]}),
    ("/runs/abc/stop", None),
    ("/jobs/claim", {"worker_id": "w"}),
    ("/jobs/1/heartbeat", {"lease_token": "t", "worker_id": "w"}),
    ("/jobs/1/complete", {"lease_token": "t", "result": {}}),
    ("/jobs/1/fail", {"lease_token": "t", "error": "E"}),
    ("/workers/heartbeat", {"worker_id": "w", "hostname": "h", "pid": 1}),
    ("/workflows", small_workflow("SYN")),
    ("/workflows/abc/resume", {"from_phase": "validation"}),
]
READS = [
    "/runs",
    "/runs/abc",
    "/runs/abc/generations",
    "/promoted",
    "/promoted/abc",
    "/api/stats",
    "/api/features/symbols",
    "/api/features/columns?symbol=SYN",
    "/api/model/abc/importance",
    "/workflows",
    "/workflows/abc",
]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_with_a_token_every_write_needs_it(service_env: Path, store_url: str) -> None:
    with serving(store_url, executor_factory=held, api_token=TOKEN) as client:
        before = row_counts(store_url)
        for path, body in WRITES:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                response = client.post(path, json=body, headers=headers)
                assert response.status_code == 401, (path, headers)
                assert response.headers["www-authenticate"] == "Bearer"
                assert "FACTORY_API_TOKEN" in response.json()["detail"]
        assert client.get("/jobs/pending").status_code == 401
        assert client.get("/workers").status_code == 401
        assert row_counts(store_url) == before
        # With the token the same requests get through (to their own answers).
        assert client.post("/jobs/claim", json={"worker_id": "w"}, headers=GOOD).json() == {
            "job": None
        }
        assert client.post("/runs/abc/stop", headers=GOOD).status_code == 404
        assert client.post("/workflows/abc/resume", headers=GOOD).status_code == 404
        assert client.get("/jobs/pending", headers=GOOD).status_code == 200
        accepted = client.post("/evolve", json=BASE, headers=GOOD)
        assert accepted.status_code == 202
        # Reads stay open on loopback, for the local dashboard.
        reads = ("/runs", "/promoted", "/api/stats", "/health", "/ui", "/ui/runs", "/workflows")
        for path in reads:
            assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_off_loopback_reads_need_the_token_too(service_env: Path, store_url: str) -> None:
    with serving(store_url, executor_factory=held, api_token=TOKEN, host="0.0.0.0") as client:
        for path in READS:
            assert client.get(path).status_code == 401, path
            assert client.get(path, headers=GOOD).status_code in (200, 404), path
        # Health checks and the (data-free) page shells stay open for load balancers and
        # for the browser to ask for the token.
        assert client.get("/health").status_code == 200
        assert client.get("/ui").status_code == 200


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_without_a_token_everything_is_open_on_loopback(service_env: Path, store_url: str) -> None:
    with serving(store_url, executor_factory=held) as client:
        assert client.post("/jobs/claim", json={"worker_id": "w"}).json() == {"job": None}
        assert client.get("/runs").status_code == 200


def test_an_exposed_server_without_a_token_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACTORY_API_TOKEN", raising=False)
    with pytest.raises(FactoryError, match="set FACTORY_API_TOKEN"):
        ServiceSettings(host="0.0.0.0").check_exposure()
    ServiceSettings(host="0.0.0.0", api_token=TOKEN, trusted_hosts=["f.lan"]).check_exposure()
    ServiceSettings(host="localhost").check_exposure()
    db = f"sqlite:///{tmp_path / 'never.db'}"
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--db", db])
    assert isinstance(result.exception, FactoryError)
    assert "exposes the API to the network" in str(result.exception)
    assert not (tmp_path / "never.db").exists()  # refused before opening anything


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_loopback_is_exactly_127_0_0_0_slash_8(address: int) -> None:
    text = str(ipaddress.IPv4Address(address))
    assert is_loopback(text) == (address >> 24 == 127)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost", True), ("::1", True), ("[::1]", True), ("::", False), ("example.org", False)],
)
def test_loopback_names(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
