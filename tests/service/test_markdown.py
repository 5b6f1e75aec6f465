"""Markdown for the dashboard: raw HTML comes out as text, links that could run code are
not made links, headings move down and stop at h6."""

from __future__ import annotations

import html

import pytest

from strategy_factory.service.markdown import markdown_html


@pytest.mark.parametrize(
    "raw",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "<iframe src=//example.com></iframe>",
        '<a href="javascript:alert(1)">x</a>',
        "<!-- a comment --><style>body{display:none}</style>",
    ],
)
def test_raw_html_is_shown_as_text(raw: str) -> None:
    for text in (raw, f"before {raw} after", f"| a |\n| --- |\n| {raw} |"):
        out = markdown_html(text)
        for tag in ("<script", "<img", "<iframe", "<a ", "<style", "<!--"):
            assert tag not in out, (text, out)
        assert html.unescape(out).count(raw) == 1, (text, out)


@pytest.mark.parametrize(
    "target", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "vbscript:x", "data:text/html,x"]
)
def test_a_link_that_could_run_code_is_not_a_link(target: str) -> None:
    assert "<a " not in markdown_html(f"[click]({target})")
    assert "<img" not in markdown_html(f"![picture]({target})")


def test_plain_links_tables_and_emphasis_are_rendered() -> None:
    out = markdown_html(
        "**bold** [docs](https://example.com/a?b=1&c=2)\n\n| a | b |\n| --- | ---: |\n| 1 | 2 |"
    )
    assert "<strong>bold</strong>" in out
    assert '<a href="https://example.com/a?b=1&amp;c=2">docs</a>' in out
    assert "<table>" in out and '<td style="text-align:right">2</td>' in out


def test_headings_move_down_and_stop_at_h6() -> None:
    out = markdown_html("# one\n\n## two\n\n##### five", heading_offset=2)
    assert "<h3>one</h3>" in out and "<h4>two</h4>" in out and "<h6>five</h6>" in out
    assert markdown_html("# one") == "<h1>one</h1>\n"
