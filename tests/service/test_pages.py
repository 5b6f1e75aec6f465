"""The dashboard's pages and files as the server sends them: landmarks, headings, labelled
controls, live regions, the pre-paint theme script, and Plotly served from the package."""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser
from pathlib import Path

import plotly
import pytest
from fastapi.testclient import TestClient

from strategy_factory.workflow import WorkflowConfig
from tests.service.conftest import held, serving

PAGES = [
    "/ui",
    "/ui/evolve",
    "/ui/runs",
    "/ui/runs/abc",
    "/ui/promoted",
    "/ui/promoted/abc",
    "/ui/jobs",
    "/ui/workflows",
    "/ui/workflows/abc",
    "/ui/insights",
    "/ui/understanding",
    "/ui/insights/hypotheses",
    "/ui/insights/champions",
    "/ui/insights/transfers",
    "/ui/insights/chart-validation",
    "/ui/settings/learning",
]


class Outline(HTMLParser):
    """What the accessibility checks need from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.labels: set[str] = set()
        self.h1 = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "label" and attributes.get("for"):
            self.labels.add(str(attributes["for"]))
        self.h1 += tag == "h1"

    def having(self, tag: str, **wanted: str) -> list[dict[str, str | None]]:
        return [
            attributes
            for name, attributes in self.tags
            if name == tag and all(attributes.get(k) == v for k, v in wanted.items())
        ]


def outline(client: TestClient, path: str) -> Outline:
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.headers["content-type"].startswith("text/html")
    parsed = Outline()
    parsed.feed(response.text)
    return parsed


@pytest.fixture
def pages(service_env: Path) -> TestClient:
    with serving("sqlite://", executor_factory=held) as client:
        yield client


def test_every_page_has_landmarks_one_h1_and_the_theme_script_first(pages: TestClient) -> None:
    for path in PAGES:
        page = outline(pages, path)
        names = [tag for tag, _ in page.tags]
        assert page.h1 == 1, path
        assert {"header", "nav", "main", "footer"} <= set(names), path
        assert page.having("html", lang="en"), path
        scripts = page.having("script")
        assert scripts[0]["src"].endswith("/static/theme.js"), path
        # The theme script blocks in <head>, before the stylesheet and the body.
        assert names.index("script") < names.index("link") < names.index("body")
        assert page.having("a", href="#main"), path  # skip link
        assert page.having("button", id="theme-toggle"), path


def test_every_form_control_has_a_label(pages: TestClient) -> None:
    for path in PAGES:
        page = outline(pages, path)
        controls = [
            attributes
            for tag, attributes in page.tags
            if tag in {"input", "select", "textarea"} and attributes.get("type") != "hidden"
        ]
        for control in controls:
            assert control.get("id") in page.labels or control.get("aria-label"), (path, control)
    form = outline(pages, "/ui/evolve")
    for wanted in ("symbol", "generations", "algorithm", "sqn_100-min", "min-dsr", "early-stop"):
        assert wanted in form.labels


def test_progress_regions_are_polite_live_regions(pages: TestClient) -> None:
    for path, region in [
        ("/ui", "overview"),
        ("/ui/runs", "runs-region"),
        ("/ui/runs/abc", "run-progress"),
        ("/ui/jobs", "jobs-region"),
        ("/ui/workflows", "workflows-region"),
        ("/ui/workflows/abc", "workflow-progress"),
        ("/ui/runs/abc", "run-insights-region"),
        ("/ui/insights", "insights-announcer"),
    ]:
        assert outline(pages, path).having("div", id=region, **{"aria-live": "polite"}), path


def test_the_current_page_is_marked_in_the_navigation(pages: TestClient) -> None:
    page = outline(pages, "/ui/promoted/abc")
    assert [a["href"] for a in page.having("a", **{"aria-current": "page"})] == ["/ui/promoted"]


def test_a_token_field_appears_only_when_a_token_is_set(service_env: Path) -> None:
    with serving("sqlite://", executor_factory=held) as client:
        assert not outline(client, "/ui").having("input", id="api-token")
    with serving("sqlite://", executor_factory=held, api_token="t") as client:
        assert outline(client, "/ui").having("input", id="api-token", type="password")


def test_static_files_and_plotly_come_from_the_package(pages: TestClient) -> None:
    home = pages.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (307, "/ui")
    for name in ("app.js", "app.css", "theme.js", "run.js", "evolve.js", "workflows.js", "tabs.js"):
        assert pages.get(f"/static/{name}").status_code == 200, name
    bundle = pages.get("/vendor/plotly.min.js")
    assert bundle.status_code == 200
    assert "javascript" in bundle.headers["content-type"]
    local = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert bundle.content == local.read_bytes()
    assert "cdn" not in pages.get("/ui/runs/abc").text.lower()


def test_the_workflow_form_starts_with_a_valid_workflow_on_bundled_data(pages: TestClient) -> None:
    page = pages.get("/ui/workflows").text
    example = html.unescape(page.split('id="workflow-config"', 1)[1].split(">", 1)[1])
    config = WorkflowConfig.load(json.loads(example.split("</textarea>", 1)[0]))
    assert config.data.symbol == "SP500"
    assert [p.type for p in config.phases] == [
        "parameter_discovery",
        "regime_analysis",
        "ensemble_optimization",
        "validation",
    ]
    form = outline(pages, "/ui/workflows")
    assert form.having("textarea", id="workflow-config") and "workflow-config" in form.labels
    assert form.having("a", **{"aria-current": "page"})[0]["href"] == "/ui/workflows"
