"""Security headers on every kind of response, a Content-Security-Policy the pages live
within (no inline script anywhere), and the API docs page under its own narrow policy."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from strategy_factory.service import ServiceSettings, create_app
from strategy_factory.service.routes.dashboard import PACKAGE_DIR
from tests.service.conftest import LOCAL_URL, held, serving
from tests.service.test_pages import PAGES

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
DIRECTIVES = {
    "script-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def policy(header: str) -> dict[str, str]:
    """A Content-Security-Policy as ``{directive: sources}``."""
    pairs = (part.strip().partition(" ") for part in header.split(";") if part.strip())
    return {name: sources.strip() for name, _, sources in pairs}


def assert_secured(response: httpx.Response, what: str) -> None:
    """The response carries every security header, with a strict script policy."""
    headers = response.headers
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, (what, name, headers.get(name))
    directives = policy(headers["content-security-policy"])
    for name, sources in DIRECTIVES.items():
        assert directives.get(name) == sources, (what, name, directives)
    assert "unsafe" not in directives["script-src"]
    assert "unsafe-eval" not in headers["content-security-policy"]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_every_kind_of_response_carries_the_security_headers(
    service_env: Path, store_url: str
) -> None:
    with serving(store_url, executor_factory=held, max_body_bytes=10_000) as client:
        answers = {
            "API read": client.get("/runs"),
            "API write": client.post("/jobs/claim", json={"worker_id": "w"}),
            "accepted run": client.post("/evolve", json={"symbol": "SYN"}),
            "page": client.get("/ui"),
            "redirect": client.get("/", follow_redirects=False),
            "static file": client.get("/static/app.js"),
            "Plotly": client.get("/vendor/plotly.min.js"),
            "OpenAPI": client.get("/openapi.json"),
            "health": client.get("/health"),
            "404": client.get("/nowhere"),
            "405": client.delete("/runs"),
            "422": client.post("/evolve", json={}),
            "400": client.post("/evolve", json={"symbol": "SYN", "algorithm": "nope"}),
            "missing static": client.get("/static/nope.js"),
            "foreign Host": client.get("/runs", headers={"Host": "evil.example"}),
            "foreign Origin": client.post("/jobs/claim", headers={"Origin": "http://evil.example"}),
            "too large": client.post("/jobs/claim", content=b" " * 10_001),
        }
    for what, response in answers.items():
        assert_secured(response, what)
    assert answers["page"].status_code == 200
    assert [answers[k].status_code for k in ("foreign Host", "foreign Origin", "too large")] == [
        400,
        403,
        413,
    ]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_failure_inside_the_server_is_a_secured_json_500(
    service_env: Path, store_url: str
) -> None:
    app = create_app(ServiceSettings(db=store_url), executor_factory=held)

    def broken(**_: object) -> None:
        raise RuntimeError("a bug")

    with TestClient(app, base_url=LOCAL_URL, raise_server_exceptions=False) as client:
        app.state.store.runs.recent = broken  # after startup, which resumes runs with it
        response = client.get("/runs")
    assert response.status_code == 500
    assert "RuntimeError" in response.json()["detail"]
    assert "a bug" not in response.text  # details stay in the server's log
    assert_secured(response, "500")


class ScriptsAndHandlers(HTMLParser):
    """Inline scripts, inline event handlers and ``javascript:`` URLs of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value}>")
        if tag == "script":
            if not dict(attrs).get("src"):
                self.problems.append("<script> without src")
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script: {data.strip()[:60]}")


def test_no_template_holds_an_inline_script_or_event_handler() -> None:
    for template in sorted((PACKAGE_DIR / "templates").glob("*.html")):
        source = template.read_text()
        parser = ScriptsAndHandlers()
        parser.feed(re.sub(r"{[{%#].*?[}%#]}", "x", source, flags=re.DOTALL))
        assert parser.problems == [], template.name
        assert not re.search(r"\son[a-z]+\s*=", source, re.IGNORECASE), template.name


def test_rendered_pages_hold_no_inline_script(service_env: Path) -> None:
    with serving("sqlite://", executor_factory=held, api_token="t") as client:
        for path in PAGES:
            response = client.get(path)
            parser = ScriptsAndHandlers()
            parser.feed(response.text)
            assert parser.problems == [], path
            assert_secured(response, path)


def test_the_static_scripts_never_evaluate_text() -> None:
    for script in sorted((PACKAGE_DIR / "static").glob("*.js")):
        source = script.read_text()
        for word in ("eval(", "new Function", "innerHTML", "document.write", 'setTimeout("'):
            assert word not in source, (script.name, word)


def test_the_docs_page_allows_exactly_its_own_inline_script(service_env: Path) -> None:
    with serving("sqlite://", executor_factory=held) as client:
        response = client.get("/docs")
    assert response.status_code == 200
    assert "SwaggerUIBundle" in response.text
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    directives = policy(response.headers["content-security-policy"])
    sources = directives["script-src"].split()
    assert f"'sha256-{digest}'" in sources
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
    assert (directives["frame-ancestors"], directives["object-src"]) == ("'none'", "'none'")
    for asset in re.findall(r'(?:src|href)="(https://[^"]+)"', response.text):
        host = "/".join(asset.split("/")[:3])
        assert (
            host in directives["script-src"]
            or host in directives["style-src"]
            or (host in directives["img-src"])
        ), asset
    assert response.headers["x-frame-options"] == "DENY"
