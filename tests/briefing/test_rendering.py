"""The editor's preview is safe whatever the analyst types: Markdown without raw HTML, cleaned to an
allow-list (no script, no event handler, no javascript: link, no style)."""

from __future__ import annotations

from html.parser import HTMLParser

import nh3
import pytest

from briefing import rendering
from tests.intel.conftest import api_as


def nh3_only(html: str) -> str:
    out = nh3.clean(html, tags=rendering.TAGS, attributes=rendering.ATTRIBUTES, url_schemes=rendering.URL_SCHEMES)
    assert "javascript:" not in out and "onclick" not in out
    return out


EVIL = """## 标题

<script>alert(1)</script>

<img src=x onerror="alert(2)">

[点我](javascript:alert(3)) [ok](https://example.org/a)

<a href="javascript:alert(4)" onclick="x()">raw</a>

![img](javascript:alert(5))

| 类别 | 数量 |
|---|---:|
| 盗窃 | **3** |
"""


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = Elements()
    p.feed(html)
    return p.found


def test_script_handlers_and_javascript_links_are_removed():
    html = rendering.markdown_html(EVIL)
    found = elements(html)
    tags = {tag for tag, _attrs in found}
    assert not tags & {"script", "img", "style", "iframe"}
    assert not [a for _t, attrs in found for a in attrs if a.startswith("on") or a == "style"]
    assert not [v for _t, attrs in found for v in attrs.values() if v and "javascript:" in v.lower()]
    # Even crafted straight, nh3 removes what markdown-it would never emit.
    assert rendering.markdown_html("x") and "<script" not in nh3_only(
        '<script>1</script><a href="javascript:x" onclick="y">z</a>'
    )
    # What is allowed survives: the heading, the table, a bold figure, an https link (rel added).
    assert "<h2>标题</h2>" in html and "<table>" in html and "<strong>3</strong>" in html
    assert '<a href="https://example.org/a" rel="noopener noreferrer nofollow">ok</a>' in html
    # Raw HTML is shown as text, escaped, never as markup.
    assert "&lt;script&gt;" in html


def test_plain_blocks_drop_the_marks():
    blocks = rendering.plain_blocks(EVIL)
    assert ("heading", "标题") in blocks and ("row", "盗窃\t3") in blocks


@pytest.mark.django_db
def test_the_preview_endpoint_answers_sanitised_html(coded):
    res = api_as(coded.analyst).post("/api/briefing/preview/", {"body": EVIL}, format="json")
    assert res.status_code == 200
    assert "<script" not in res.json()["html"] and "<h2>标题</h2>" in res.json()["html"]
