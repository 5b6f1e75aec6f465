"""Request bodies over FACTORY_MAX_BODY_BYTES answer 413, whether their size is declared
(Content-Length) or only found out while they stream in; nothing is written, and no more
than the limit is read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strategy_factory.service import ServiceSettings, create_app
from tests.service.conftest import held, row_counts, serving
from tests.service.test_evolve import BASE

MIB = 2**20


def _padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` as JSON, padded with spaces to exactly ``size`` bytes."""
    text = json.dumps(body).encode()
    return text + b" " * (size - len(text))


def _assert_too_large(response: Any, limit: int) -> None:
    assert response.status_code == 413, response.text
    detail = response.json()["detail"]
    assert f"{limit:,} bytes" in detail and "FACTORY_MAX_BODY_BYTES" in detail, detail


def test_the_default_limit_is_one_mebibyte(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACTORY_MAX_BODY_BYTES", raising=False)
    assert ServiceSettings().max_body_bytes == MIB
    monkeypatch.setenv("FACTORY_MAX_BODY_BYTES", "5000000")
    assert ServiceSettings().max_body_bytes == 5_000_000


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_declared_body_over_the_limit_is_413(service_env: Path, store_url: str) -> None:
    headers = {"Content-Type": "application/json"}
    with serving(store_url, executor_factory=held) as client:
        before = row_counts(store_url)
        for path, body in [("/evolve", BASE), ("/jobs/claim", {"worker_id": "w"})]:
            response = client.post(path, content=_padded(body, MIB + 1), headers=headers)
            _assert_too_large(response, MIB)
        assert client.post("/ui", content=b" " * (MIB + 1)).status_code == 413
        assert row_counts(store_url) == before
        at_the_limit = client.post("/evolve", content=_padded(BASE, MIB), headers=headers)
        assert at_the_limit.status_code == 202, at_the_limit.text


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_streamed_body_over_the_limit_is_413(service_env: Path, store_url: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield json.dumps({"worker_id": "w"}).encode()
        for _ in range(20):
            yield b" " * 1_000

    headers = {"Content-Type": "application/json"}
    with serving(store_url, executor_factory=held, max_body_bytes=10_000) as client:
        before = row_counts(store_url)
        response = client.post("/jobs/claim", content=chunks(), headers=headers)
        assert "content-length" not in response.request.headers  # sent chunked
        _assert_too_large(response, 10_000)
        assert row_counts(store_url) == before
        # A body at the limit gets through.
        body = _padded({"worker_id": "w"}, 10_000)
        small = client.post("/jobs/claim", content=body, headers=headers)
        assert small.json() == {"job": None}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_endless_chunked_body_is_cut_after_the_limit(service_env: Path, store_url: str) -> None:
    """At the ASGI level: the server stops asking for chunks once the limit is passed."""
    chunk = b" " * 65_536
    limit = 10 * len(chunk)
    app = create_app(ServiceSettings(db=store_url, max_body_bytes=limit), executor_factory=held)
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        if pulled > 1_000:
            raise AssertionError("the server read far past the limit")
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/evolve",
        "raw_path": b"/evolve",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8400"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8400),
    }
    asyncio.run(app(scope, receive, send))
    assert pulled == limit // len(chunk) + 1  # the limit, plus the chunk that crossed it
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert "FACTORY_MAX_BODY_BYTES" in json.loads(body)["detail"]
