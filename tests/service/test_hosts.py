"""The Host and Origin checks: a request must name a host the server answers to (against
DNS rebinding), and a state-changing request from a web page must come from a trusted
origin (against cross-site request forgery)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from strategy_factory.errors import FactoryError
from strategy_factory.service import ServiceSettings
from strategy_factory.service.middleware import TrustedHosts
from tests.service.conftest import held, row_counts, serving
from tests.service.test_evolve import BASE
from tests.service.test_security import TOKEN, WRITES

# One request of every kind the server answers: API read and write, page, static file,
# Plotly's bundle, health, the OpenAPI document and its docs page, an unknown path.
EVERY_KIND = [
    ("GET", "/runs", None),
    ("POST", "/jobs/claim", {"worker_id": "w"}),
    ("POST", "/evolve", BASE),
    ("GET", "/ui", None),
    ("GET", "/static/app.js", None),
    ("GET", "/vendor/plotly.min.js", None),
    ("GET", "/health", None),
    ("GET", "/openapi.json", None),
    ("GET", "/docs", None),
    ("GET", "/nowhere", None),
]
FOREIGN_HOSTS = [
    "evil.example",
    "evil.example:8400",
    "127.0.0.1.evil.example",
    "localhost.evil.example",
    "[::2]:8400",
    "0.0.0.0",
    "x" * 5000,
]
LOOPBACK_HOSTS = [
    "127.0.0.1",
    "127.0.0.1:8400",
    "127.8.9.10:1",
    "localhost",
    "LocalHost:8400",
    "localhost.",
    "[::1]",
    "[::1]:8400",
]
FOREIGN_ORIGINS = [
    "http://evil.example",
    "https://evil.example:443",
    "http://127.0.0.1.evil.example",
    "null",
    "not a url",
]


def _send(
    client: TestClient, method: str, path: str, body: object, **headers: str
) -> httpx.Response:
    return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_foreign_host_header_is_refused_on_every_endpoint(
    service_env: Path, store_url: str
) -> None:
    with serving(store_url, executor_factory=held) as client:
        before = row_counts(store_url)
        for host in FOREIGN_HOSTS:
            for method, path, body in EVERY_KIND:
                response = _send(client, method, path, body, Host=host)
                assert response.status_code == 400, (host, path, response.text)
                detail = response.json()["detail"]
                assert "Host" in detail and "FACTORY_TRUSTED_HOSTS" in detail, detail
                assert len(response.content) < 1000  # the host is not echoed whole
        assert row_counts(store_url) == before


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_loopback_names_are_trusted_whatever_the_port(service_env: Path, store_url: str) -> None:
    with serving(store_url, executor_factory=held) as client:
        for host in LOOPBACK_HOSTS:
            assert client.get("/health", headers={"Host": host}).status_code == 200, host
            assert client.get("/ui", headers={"Host": host}).status_code == 200, host
        assert client.get("/health", headers={"Host": "testserver"}).status_code == 400


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_bound_address_and_listed_names_are_trusted(service_env: Path, store_url: str) -> None:
    with serving(store_url, executor_factory=held, api_token=TOKEN, host="10.0.0.5") as client:
        assert client.get("/health", headers={"Host": "10.0.0.5:8400"}).status_code == 200
        assert client.get("/health", headers={"Host": "10.0.0.6:8400"}).status_code == 400
    listed = {"host": "0.0.0.0", "trusted_hosts": ["factory.internal", "10.0.0.5"]}
    with serving(store_url, executor_factory=held, api_token=TOKEN, **listed) as client:
        for host in ("factory.internal", "FACTORY.internal:8400", "10.0.0.5:80", "localhost"):
            assert client.get("/health", headers={"Host": host}).status_code == 200, host
        for host in ("0.0.0.0", "other.internal", "factory.internal.evil.example"):
            assert client.get("/health", headers={"Host": host}).status_code == 400, host


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_star_turns_the_host_check_off_but_not_the_origin_check(
    service_env: Path, store_url: str
) -> None:
    everyone = {"host": "0.0.0.0", "trusted_hosts": ["*"], "api_token": TOKEN}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serving(store_url, executor_factory=held, **everyone) as client:
        assert client.get("/health", headers={"Host": "anything.example"}).status_code == 200
        # A page may still only write to the server it was served from.
        same = {"Host": "factory.example:8400", "Origin": "http://factory.example:8400"}
        claim = {"worker_id": "w"}
        assert client.post("/jobs/claim", json=claim, headers={**auth, **same}).status_code == 200
        cross = {**same, "Origin": "http://evil.example"}
        assert client.post("/jobs/claim", json=claim, headers={**auth, **cross}).status_code == 403


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_cross_site_write_is_refused_and_writes_nothing(
    service_env: Path, store_url: str
) -> None:
    with serving(store_url, executor_factory=held) as client:
        before = row_counts(store_url)
        for origin in FOREIGN_ORIGINS:
            for path, body in WRITES:
                response = client.post(path, json=body, headers={"Origin": origin})
                assert response.status_code == 403, (origin, path, response.text)
                detail = response.json()["detail"]
                assert "Origin" in detail and "FACTORY_TRUSTED_HOSTS" in detail, detail
            for method in ("PUT", "PATCH", "DELETE"):
                response = client.request(method, "/runs/abc", headers={"Origin": origin})
                assert response.status_code == 403, (origin, method)
        assert row_counts(store_url) == before

        # Reads are not state changes: a foreign page cannot read the answer without CORS.
        assert client.get("/runs", headers={"Origin": "http://evil.example"}).status_code == 200
        # Pages of this server, other loopback origins and clients without Origin may write.
        for origin in ("http://127.0.0.1:8400", "http://localhost:3000", "http://[::1]"):
            response = client.post(
                "/jobs/claim", json={"worker_id": "w"}, headers={"Origin": origin}
            )
            assert response.status_code == 200, origin
        accepted = client.post("/evolve", json=BASE, headers={"Origin": "http://127.0.0.1:8400"})
        assert accepted.status_code == 202
        assert client.post("/jobs/claim", json={"worker_id": "w"}).status_code == 200


def test_trusted_hosts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORY_TRUSTED_HOSTS", " factory.internal, 10.0.0.5 ,,")
    assert ServiceSettings().trusted_hosts == ["factory.internal", "10.0.0.5"]
    monkeypatch.setenv("FACTORY_TRUSTED_HOSTS", '["factory.internal"]')
    assert ServiceSettings().trusted_hosts == ["factory.internal"]
    monkeypatch.delenv("FACTORY_TRUSTED_HOSTS")
    assert ServiceSettings().trusted_hosts == []


def test_listening_on_every_address_needs_the_names_clients_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FACTORY_TRUSTED_HOSTS", raising=False)
    for wildcard in ("0.0.0.0", "::"):
        with pytest.raises(FactoryError, match="FACTORY_TRUSTED_HOSTS"):
            ServiceSettings(host=wildcard, api_token=TOKEN).check_exposure()
        ServiceSettings(
            host=wildcard, api_token=TOKEN, trusted_hosts=["f.internal"]
        ).check_exposure()
        ServiceSettings(host=wildcard, api_token=TOKEN, trusted_hosts=["*"]).check_exposure()
    ServiceSettings(host="10.0.0.5", api_token=TOKEN).check_exposure()  # its own name


@pytest.mark.parametrize(
    ("host", "origin", "method", "status"),
    [
        ("127.0.0.1:8400", None, "POST", None),
        ("[::1]:8400", "http://[::1]:8400", "DELETE", None),
        ("factory.internal", "https://FACTORY.internal.", "PATCH", None),
        ("factory.internal", "http://evil.example", "GET", None),  # reads are not guarded
        ("factory.internal", "http://evil.example", "put", 403),
        ("factory.internal", "http://[::1", "POST", 403),  # malformed
        (None, None, "GET", 400),
        ("::1", None, "GET", None),  # a bare IPv6 address, as some clients send it
        ("127.0.0.1:8400:evil", None, "GET", 400),
        ("evil.example@127.0.0.1", None, "GET", 400),
    ],
)
def test_the_rules_on_single_requests(
    host: str | None, origin: str | None, method: str, status: int | None
) -> None:
    trusted = TrustedHosts(ServiceSettings(host="0.0.0.0", trusted_hosts=["factory.internal"]))
    refused = trusted.refusal(host, origin, method)
    assert (None if refused is None else refused[0]) == status


def test_with_a_star_a_page_must_still_name_the_host_it_writes_to() -> None:
    anyone = TrustedHosts(ServiceSettings(host="0.0.0.0", trusted_hosts=["*"]))
    assert anyone.refusal("any.example:80", "http://any.example", "POST") is None
    assert anyone.refusal("any.example", "http://other.example", "POST")[0] == 403
    assert anyone.refusal(None, "null", "POST")[0] == 403
