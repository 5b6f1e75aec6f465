"""Markdown as safe HTML, for the knowledge base's summaries on the dashboard.

CommonMark (markdown-it-py) with tables, and raw HTML turned off: a ``<script>`` or any
other tag written in the Markdown comes out as text. Links whose scheme could run code
(``javascript:``, ``vbscript:``, ``file:``, most ``data:``) are not made links, as
markdown-it validates every link target. Headings can be moved down, so a summary's
``# title`` sits under the page's own headings instead of competing with its ``<h1>``.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

_DEEPEST_HEADING = 6
_renderer = MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_html(text: str, heading_offset: int = 0) -> str:
    """``text`` (Markdown) as HTML with raw HTML shown as text.

    ``heading_offset`` moves every heading down that many levels (``# T`` with offset 2 is
    an ``<h3>``), never below ``<h6>``.

    Example::

        markdown_html("# Summary\\n\\n<script>x</script>", heading_offset=2)
        # '<h3>Summary</h3>\\n<p>&lt;script&gt;x&lt;/script&gt;</p>\\n'
    """
    tokens = _renderer.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1:]) + heading_offset, _DEEPEST_HEADING)
            token.tag = f"h{level}"
    return _renderer.renderer.render(tokens, _renderer.options, {})
