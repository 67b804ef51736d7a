"""The report's Markdown as HTML a page may insert: markdown-it-py with raw HTML off (what the analyst types
as `<tag>` stays text), then nh3 (ammonia) with an allow-list, so no script, no event handler, no
`javascript:` link and no style reaches the page whatever the text holds. The page fetches this HTML from
the API (the CSP forbids inline script and style; nothing here needs either)."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

TAGS = {
    "h1", "h2", "h3", "h4", "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "td": {"align"}, "th": {"align"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")


def markdown_html(text: str) -> str:
    """Safe HTML of `text` (Markdown): rendered without raw HTML, then cleaned to the allow-list."""
    return nh3.clean(
        _md.render(text or ""),
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def plain_blocks(text: str) -> list[tuple[str, str]]:
    """The Markdown as (kind, text) blocks for the files: headings, paragraphs, list items and table rows,
    their inline marks dropped. The files write them as text runs, never as markup."""
    blocks: list[tuple[str, str]] = []
    tokens = _md.parse(text or "")
    kind = "paragraph"
    row: list[str] = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            kind = "heading"
        elif tok.type == "bullet_list_open" or tok.type == "ordered_list_open":
            kind = "item"
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            kind = "paragraph"
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "tr_close":
            blocks.append(("row", "\t".join(row)))
        elif tok.type == "inline":
            plain = "".join(c.content for c in (tok.children or []) if c.type in ("text", "code_inline", "softbreak"))
            parent = tokens[i - 1].type if i else ""
            if parent in ("th_open", "td_open"):
                row.append(plain)
            elif kind == "heading":
                blocks.append(("heading", plain))
                kind = "paragraph"
            else:
                blocks.append(("item" if kind == "item" else "paragraph", plain))
        elif tok.type in ("fence", "code_block"):
            blocks.append(("paragraph", tok.content.rstrip("\n")))
    return blocks
