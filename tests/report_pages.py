"""Reading a report page as a test does: the data of its charts and its external links.

Both HTML reports (an evolution run's, a workflow's) embed each chart as a
``Plotly.newPlot(id, data, layout, config)`` call; these helpers take those calls apart.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from typing import Any

import numpy as np


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# NaN and Infinity are not JSON (see strategy_factory.json_values): a chart that embeds
# them fails here, not only in a strict browser parser.
_STRICT = json.JSONDecoder(parse_constant=_not_json)


def chart_ids(page: str) -> list[str]:
    """The div id of every chart the page draws, in page order."""
    return re.findall(r'Plotly\.newPlot\(\s*"([^"]+)"', page)


def figure(page: str, div_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The data and layout a chart's ``Plotly.newPlot`` call embeds (strict JSON)."""
    found = re.search(r'Plotly\.newPlot\(\s*"' + re.escape(div_id) + r'",\s*', page)
    assert found, f"no chart {div_id}"
    data, end = _STRICT.raw_decode(page, found.end())
    after = re.compile(r",\s*").match(page, end)
    assert after, f"chart {div_id}: no layout after its data"
    layout, _ = _STRICT.raw_decode(page, after.end())
    return data, layout


def values(encoded: Any) -> np.ndarray:
    """An array as Plotly embeds it: a list, or base64 typed-array data."""
    if isinstance(encoded, dict):
        array = np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=np.dtype(encoded["dtype"]))
        shape = encoded.get("shape")
        return array.reshape([int(s) for s in str(shape).split(",")]) if shape else array
    return np.asarray(encoded)


class Cells(HTMLParser):
    """Every element with a ``data-field``: its attributes and text, with the ``data-*``
    attributes of its row and of its table or list (whose class is ``table``)."""

    def __init__(self) -> None:
        super().__init__()
        self.table: dict[str, str] = {}
        self.row: dict[str, str] = {}
        self.cells: list[dict[str, str]] = []
        self.filling: tuple[str, dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        data = {k: v for k, v in found.items() if k.startswith("data-")}
        if tag in ("table", "dl"):
            self.table = {"table": found.get("class", ""), **data}
        if tag == "tr":
            self.row = data
        if "data-field" in found:
            cell = {**self.table, **self.row, **found, "text": ""}
            self.cells.append(cell)
            self.filling = (tag, cell)

    def handle_data(self, data: str) -> None:
        if self.filling is not None:
            self.filling[1]["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if self.filling is not None and tag == self.filling[0]:
            self.filling[1]["text"] = " ".join(self.filling[1]["text"].split())
            self.filling = None
        if tag in ("table", "dl"):
            self.table, self.row = {}, {}


def cells(page: str) -> list[dict[str, str]]:
    """Every ``data-field`` element of the page (see :class:`Cells`)."""
    parser = Cells()
    parser.feed(page)
    return parser.cells


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [(tag, k, v or "") for k, v in attrs if k in ("src", "href")]


def assert_self_contained(page: str) -> None:
    """The page fetches nothing: no linked file, no URL outside Plotly's own script, and
    Plotly's JavaScript inlined exactly once."""
    parser = _Links()
    parser.feed(page)
    assert parser.links == []  # no <script src>, <link href>, <img src>
    assert "<script src" not in page and "<link" not in page
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.DOTALL)
    assert len([s for s in scripts if "plotly.js v" in s[:200]]) == 1
    outside = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.DOTALL)
    assert "http://" not in outside and "https://" not in outside
    assert "url(" not in outside and "@import" not in outside
