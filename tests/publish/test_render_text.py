"""Hard text in feeds: markup characters, CDATA ends, emoji, XML-invalid characters."""

from __future__ import annotations

import html
import re

import orjson
import pytest
from hypothesis import given, settings

from feedsvc.models import Article
from feedsvc.publish.render import (
    FORMATS,
    render,
    render_atom,
    render_json,
    render_rss,
)
from tests.publish.rendering import (
    NS,
    TRICKY_CONTENT,
    TRICKY_TITLE,
    info_for,
    make,
    parsed,
    xml,
    xml_text,
)

# --- hard text --------------------------------------------------------------------------


def tricky() -> Article:
    return make(
        0,
        title=TRICKY_TITLE,
        content=TRICKY_CONTENT,
        summary='Ringkas: <tidak> ada tag & "kutip" ]]> 😀',
        author="Ayu & <Budi>",
        categories=("KALTARA", "Hukum & Kriminal"),
        link="https://www.jurnalkaltara.com/?p=12&amp=1",
    )


def test_tricky_article_round_trips_exactly() -> None:
    article = tricky()

    rss = xml(render_rss(info_for("rss"), [article])).find("channel/item")
    assert rss.findtext("title") == TRICKY_TITLE
    assert rss.findtext("content:encoded", namespaces=NS) == TRICKY_CONTENT
    assert rss.findtext("dc:creator", namespaces=NS) == "Ayu & <Budi>"
    assert rss.findtext("link") == article.link

    atom = xml(render_atom(info_for("atom"), [article])).find("atom:entry", NS)
    assert atom.findtext("atom:title", namespaces=NS) == TRICKY_TITLE
    assert atom.findtext("atom:content", namespaces=NS) == TRICKY_CONTENT
    assert atom.findtext("atom:author/atom:name", namespaces=NS) == "Ayu & <Budi>"

    item = orjson.loads(render_json(info_for("json"), [article]))["items"][0]
    assert (item["title"], item["content_html"], item["summary"]) == (
        TRICKY_TITLE,
        TRICKY_CONTENT,
        article.summary,
    )

    for fmt in ("rss", "atom"):
        entry = parsed(render(fmt, info_for(fmt), [article])).entries[0]
        assert entry.title == TRICKY_TITLE
        assert entry.content[0].value == TRICKY_CONTENT
        # plain text travels as escaped HTML (RSS <description> is HTML)
        assert html.unescape(entry.summary) == article.summary
        assert entry.author == "Ayu & <Budi>"
        assert entry.link == article.link


def test_rss_plain_text_uses_hex_references() -> None:
    # The RSS Profile's rule (the W3C validator warns otherwise); same text once parsed.
    body = render_rss(info_for("rss"), [tricky()])
    assert b"<title>Harga &#x3C;b&gt;cabai&#x3C;/b&gt; &#x26; " in body
    assert b"<dc:creator>Ayu &#x26; &#x3C;Budi&gt;</dc:creator>" in body
    assert b"<category>Hukum &#x26; Kriminal</category>" in body


@pytest.mark.parametrize("fmt", FORMATS)
def test_xml_invalid_characters_are_dropped(fmt: str) -> None:
    article = make(
        0, title="Banjir\x00 di\x0b Tarakan\ufffe", content="<p>Isi\x1b berita\x85\x7f</p>"
    )
    body = render(fmt, info_for(fmt), [article])
    if fmt == "json":
        item = orjson.loads(body)["items"][0]
        assert (item["title"], item["content_html"]) == ("Banjir di Tarakan", "<p>Isi berita</p>")
    else:
        entry = parsed(body).entries[0]
        assert (entry.title, entry.content[0].value) == ("Banjir di Tarakan", "<p>Isi berita</p>")


@settings(max_examples=60, deadline=None)
@given(title=xml_text, content=xml_text, author=xml_text, summary=xml_text)
def test_any_text_round_trips_or_loses_only_invalid_characters(
    title: str, content: str, author: str, summary: str
) -> None:
    invalid = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
    article = make(0, title=title, content=content, author=author, summary=summary)
    want_title = invalid.sub("", title) or "(tanpa judul)"
    item = xml(render_rss(info_for("rss"), [article])).find("channel/item")
    assert item.findtext("title") == want_title
    entry = xml(render_atom(info_for("atom"), [article])).find("atom:entry", NS)
    assert entry.findtext("atom:title", namespaces=NS) == want_title
    if invalid.sub("", content):
        assert entry.findtext("atom:content", namespaces=NS) == invalid.sub("", content)
    if invalid.sub("", author):
        assert item.findtext("dc:creator", namespaces=NS) == invalid.sub("", author)
    if invalid.sub("", summary):
        assert html.unescape(item.findtext("description")) == invalid.sub("", summary)
    assert orjson.loads(render_json(info_for("json"), [article]))["items"][0]["title"] == want_title
