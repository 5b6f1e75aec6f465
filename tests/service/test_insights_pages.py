"""The learning pages as the server sends them: the hub's tabs and dialog wired for
assistive technology, a settings form that mirrors the settings model field for field
(bounds included), the run page's sidebar, escaping, every script module served, and the
API answers the pages read (trait importance per version, knowledge as safe HTML)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from strategy_factory.learning.settings import LearningSettings
from strategy_factory.store import Store
from tests.service.recorded_learning import (
    NEWEST_PERIOD,
    OLDER_PERIOD,
    SCRIPT_ERROR,
    TRAITS_NEW,
    TRAITS_OLD,
    record_learning,
)
from tests.service.test_pages import outline, pages  # noqa: F401 (a fixture)

IMPORT = re.compile(r'from "\./([\w-]+\.js)"')
# The control each default value's type asks for (a default of None: a number or none).
KINDS = {bool: "boolean", int: "integer", float: "number", str: "choice", type(None): "number"}


def test_the_hub_is_a_tablist_whose_tabs_control_their_panels(pages: TestClient) -> None:  # noqa: F811
    page = outline(pages, "/ui/insights")
    [tablist] = page.having("div", role="tablist")
    assert tablist["aria-label"] == "Learning insights"
    tabs = page.having("button", role="tab")
    assert [tab["data-tab"] for tab in tabs] == [
        "meta-model",
        "allocator",
        "overfitting",
        "knowledge",
    ]
    panels = {panel["id"]: panel for panel in page.having("div", role="tabpanel")}
    for index, tab in enumerate(tabs):
        panel = panels[tab["aria-controls"]]
        assert panel["aria-labelledby"] == tab["id"]
        # Before the script reads the URL's hash, the first tab is the selected one.
        assert tab["aria-selected"] == ("true" if index == 0 else "false")
        assert tab["tabindex"] == ("0" if index == 0 else "-1")
        assert ("hidden" in panel) == (index > 0)
    [dialog] = page.having("dialog", id="ack-dialog")
    assert page.having("h3", id=dialog["aria-labelledby"])
    assert {"ack-by", "ack-note", "knowledge-period"} <= page.labels
    current = page.having("a", **{"aria-current": "page"})
    assert [a["href"] for a in current] == ["/ui/insights"]


def _leaves(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    leaves: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            leaves.update(_leaves(value, f"{prefix}{key}."))
        else:
            leaves[f"{prefix}{key}"] = value
    return leaves


def _with(path: str, value: Any) -> dict[str, Any]:
    document = LearningSettings().model_dump(mode="json")
    *sections, leaf = path.split(".")
    node = document
    for section in sections:
        node = node[section]
    node[leaf] = value
    return document


def _accepts(path: str, value: Any) -> bool:
    try:
        LearningSettings.model_validate(_with(path, value))
    except ValidationError:
        return False
    return True


def test_the_settings_form_has_one_control_per_setting_with_the_models_bounds(
    pages: TestClient,  # noqa: F811
) -> None:
    page = outline(pages, "/ui/settings/learning")
    html = pages.get("/ui/settings/learning").text
    controls = {
        attributes["name"]: attributes
        for tag, attributes in page.tags
        if tag in {"input", "select"} and attributes.get("data-kind")
    }
    leaves = _leaves(LearningSettings().model_dump(mode="json"))
    assert set(controls) == set(leaves)
    legends = re.findall(r"<legend>(.*?)</legend>", html)
    assert legends == ["Schedule", "Monitor", "Allocator", "Meta-model", "Search", "Auto-demote"]
    for path, control in controls.items():
        assert control["id"] in page.labels, path
        kind = control["data-kind"]
        assert kind == KINDS[type(leaves[path])], path
        if kind not in {"integer", "number"}:
            continue
        # The hints agree with the model: its maximum is accepted and a step beyond is not;
        # its minimum is accepted exactly when the help says "at least".
        low, high = float(control["min"]), float(control["max"])
        assert _accepts(path, high) and not _accepts(path, high + 1), path
        help_text = re.search(f'id="{control["id"]}-help"[^>]*>(.*?)</p>', html).group(1)
        assert _accepts(path, low) == (f"at least {low:g}" in help_text.replace(",", "")), path
        assert not _accepts(path, low - 1), path
        assert ("empty for none" in help_text) == _accepts(path, None), path
        assert control["step"] == ("1" if kind == "integer" else "any"), path


def test_the_run_page_has_an_insights_sidebar_and_escapes_the_run_id(pages: TestClient) -> None:  # noqa: F811
    page = outline(pages, "/ui/runs/abc")
    [aside] = page.having("aside", id="run-insights")
    assert page.having("h2", id=aside["aria-labelledby"])
    assert page.having("a", href="/ui/insights#allocator")
    text = pages.get('/ui/runs/<b onclick="x">').text
    assert "<b onclick" not in text and "&lt;b onclick=&#34;x&#34;&gt;" in text


def test_every_script_module_a_page_imports_is_served(pages: TestClient) -> None:  # noqa: F811
    pending, seen = ["insights.js", "learning_settings.js", "run.js"], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        response = pages.get(f"/static/{name}")
        assert response.status_code == 200, name
        pending += IMPORT.findall(response.text)
    assert {"tabs.js", "run_insights.js", "learning_text.js", "insights_alerts.js"} <= seen


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text += data


def test_the_knowledge_answer_holds_its_markdown_as_safe_html(
    client: TestClient, store: Store
) -> None:
    record_learning(store)
    latest = client.get("/api/knowledge/latest").json()
    assert latest["period"] == NEWEST_PERIOD and latest["periods"] == [NEWEST_PERIOD, OLDER_PERIOD]
    parsed = _Tags()
    parsed.feed(latest["html"])
    names = {tag for tag, _ in parsed.tags}
    assert SCRIPT_ERROR in parsed.text
    assert not names & {"script", "style", "iframe", "img", "object"}
    assert not [name for _, attrs in parsed.tags for name in attrs if name.startswith("on")]
    # The summary's own title sits under the page's h1 and h2; its tables are tables.
    assert {"h3", "h4", "table"} <= names and "h1" not in names
    older = client.get(f"/api/knowledge/{OLDER_PERIOD}").json()
    assert older["html"] == "<h3>Older summary</h3>\n<p>Nothing flagged.</p>\n"


def test_the_meta_model_history_lists_versions_newest_first_with_their_traits(
    client: TestClient, store: Store
) -> None:
    empty = client.get("/api/learning/meta-model/history").json()
    assert empty["versions"] == [] and "no meta-model yet" in empty["reason"]
    record_learning(store)
    history = client.get("/api/learning/meta-model/history").json()
    assert history["reason"] is None
    assert [v["version"] for v in history["versions"]] == [2, 1]
    assert [v["traits"] for v in history["versions"]] == [TRAITS_NEW, TRAITS_OLD]
    newest = client.get("/api/learning/feature-importance").json()
    assert newest["traits"] == history["versions"][0]["traits"]
    one = client.get("/api/learning/meta-model/history", params={"limit": 1}).json()
    assert [v["version"] for v in one["versions"]] == [2]
    assert client.get("/api/learning/meta-model/history", params={"limit": 0}).status_code == 422


@pytest.mark.parametrize("limit", [101, "x"])
def test_the_meta_model_history_refuses_a_bad_limit(pages: TestClient, limit: object) -> None:  # noqa: F811
    response = pages.get("/api/learning/meta-model/history", params={"limit": limit})
    assert response.status_code == 422 and "limit" in response.json()["message"]
