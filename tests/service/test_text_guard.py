"""Text the store cannot keep — NUL characters and lone surrogates (the JSON escape
``\\ud800`` without its pair) — is refused with 422 wherever it appears: any field of a
body, any key, the query or the path. Nothing is written."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from strategy_factory.service import ServiceSettings, create_app
from tests.service.conftest import held, post_json_text, row_counts, serving
from tests.service.test_evolve import BASE, SEEDS

UNICODE = "text must be valid Unicode"
NUL = "text must not contain NUL characters"


def _refused(response: Any, words: str, place: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert words in body["message"], body
    assert body["message"].startswith(f"{place}: "), body


def _ascii(body: dict[str, Any]) -> str:
    """``body`` as ASCII JSON text (so that test ids and reports stay printable)."""
    return json.dumps(body, ensure_ascii=True)


@pytest.mark.parametrize(
    ("path", "text", "place"),
    [
        ("/evolve", _ascii({**BASE, "seed_features": ["\ud800", *SEEDS]}), "body.seed_features.0"),
        ("/evolve", _ascii({**BASE, "timeframe": "\ud800"}), "body.timeframe"),
        ("/evolve", _ascii({**BASE, "symbol": "SY\udfffN"}), "body.symbol"),
        ("/evolve", _ascii({**BASE, "criteria": {"sqn_\udc00": {"min": 1}}}), "body.criteria"),
        ("/evolve/batch", _ascii({"symbols": ["SYN", "\ud800\ud800"]}), "body.symbols.1"),
        ("/jobs/claim", _ascii({"worker_id": "w", "kinds": ["\ud800"]}), "body.kinds.0"),
        ("/jobs/1/fail", _ascii({"lease_token": "t", "error": "E\udfff"}), "body.error"),
        (
            "/workers/heartbeat",
            _ascii({"worker_id": "\ud800", "hostname": "h", "pid": 1}),
            "body.worker_id",
        ),
    ],
)
def test_a_lone_surrogate_in_a_body_is_422(
    service_env: Path, store_url: str, path: str, text: str, place: str
) -> None:
    headers = {"Content-Type": "application/json"}
    with serving(store_url, executor_factory=held) as client:
        before = row_counts(store_url)
        _refused(client.post(path, content=text, headers=headers), UNICODE, place)
        assert row_counts(store_url) == before


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_surrogate_bytes_and_nul_are_refused_too(service_env: Path, store_url: str) -> None:
    headers = {"Content-Type": "application/json"}
    with serving(store_url, executor_factory=held) as client:
        raw = b'{"worker_id": "w", "kinds": ["\xed\xa0\x80"]}'  # UTF-8 bytes of U+D800
        _refused(client.post("/jobs/claim", content=raw, headers=headers), UNICODE, "body.kinds.0")
        nul = {**BASE, "seed_features": ["a\x00b", *SEEDS]}
        _refused(post_json_text(client, "/evolve", nul), NUL, "body.seed_features.0")
        _refused(client.get("/runs?status=%00"), NUL, "query.status")
        _refused(client.get("/runs/a%00b"), NUL, "path")
        # A surrogate pair is one character, and welcome.
        pair = post_json_text(client, "/jobs/claim", {"worker_id": "😀"})
        assert pair.status_code == 200, pair.text


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_lone_surrogate_in_the_path_is_422(service_env: Path, store_url: str) -> None:
    """Servers decode %ED%A0%80 to U+FFFD; another ASGI server might pass the surrogate on."""
    app = create_app(ServiceSettings(db=store_url), executor_factory=held)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/runs/\ud800",
        "raw_path": b"/runs/%ED%A0%80",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 422
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["message"].startswith(f"path: {UNICODE}")
