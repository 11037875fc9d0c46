"""Text is text and bounds hold: no markup or invisible characters, broken bytes, huge fields."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import orjson
import pytest

from feedsvc.ingest.parse.entry import MAX_ARTICLE_LENGTH, MAX_AUTHOR_LENGTH, MAX_TITLE_LENGTH
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.models import Source
from feedsvc.storage.store import Store
from tests.fakes.site import Item, Page, Site, rss
from tests.ingest.hostile.conftest import JSON_FEED, NOW, poll_saved

# Item 4: text is text.

TAG_LIKE = re.compile(r"<[A-Za-z/!?]")
INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def assert_plain(text: str) -> None:
    assert not TAG_LIKE.search(html.unescape(text)), text
    assert not INVISIBLE.search(text), ascii(text)


async def test_titles_and_names_hold_no_markup_and_no_invisible_characters(
    site: Site, ingestor: Ingestor, store: Store
) -> None:
    hostile = [
        ("&lt;b&gt;Banjir&lt;/b&gt; di Malinau", "Banjir di Malinau"),
        ("&amp;lt;img src=x onerror=alert(1)&amp;gt;Longsor", "Longsor"),
        ("Gubernur \u202etlasid\u202c meninjau\u200b jalan", "Gubernur tlasid meninjau jalan"),
        ("Pilkada \u2066Bulungan\u2069 2026\ufeff", "Pilkada Bulungan 2026"),
    ]
    rows = [
        Item(raw, site.url(f"/2026/11/27/teks-{i}/"), NOW - timedelta(hours=i),
             author="Wira\u200f &lt;i&gt;Redaksi&lt;/i&gt;", categories=("Kal\u200btara",),
             content="<p>&lt;script&gt;alert(1)&lt;/script&gt;Isi.</p>")
        for i, (raw, _) in enumerate(hostile)
    ]  # fmt: skip
    site.routes["/feed/"] = Page(rss(rows))
    await poll_saved(ingestor, Source("teks", site.url("/feed/")))
    stored = await store.list(None)
    assert [a.title for a in stored] == [clean for _, clean in hostile]
    for article in stored:
        assert article.author == "Wira Redaksi"
        assert article.categories == ("Kaltara",)
        for text in (article.title, article.author, article.summary, *article.categories):
            assert_plain(text)


@pytest.mark.parametrize("content_type", ["application/rss+xml; charset=UTF-8", "text/xml", ""])
async def test_one_broken_byte_spoils_only_its_own_item(
    site: Site, ingestor: Ingestor, store: Store, content_type: str
) -> None:
    rows = [
        Item(
            f"Jembatan Sei Kayan – ruas {i} dibuka", site.url(f"/j/{i}/"), NOW - timedelta(hours=i)
        )
        for i in range(3)
    ]
    body = rss(rows).replace(b"ruas 1", b"ruas \xff1")
    headers = {"Content-Type": content_type} if content_type else {}
    site.routes["/feed/"] = Page(body, headers=headers)
    await poll_saved(ingestor, Source("utf8", site.url("/feed/")))
    assert [a.title for a in await store.list(None)] == [
        "Jembatan Sei Kayan – ruas 0 dibuka",
        "Jembatan Sei Kayan – ruas \ufffd1 dibuka",
        "Jembatan Sei Kayan – ruas 2 dibuka",
    ]


async def test_a_json_feed_with_a_broken_byte_keeps_its_items(
    site: Site, ingestor: Ingestor, store: Store
) -> None:
    items = [
        {"id": str(i), "url": site.url(f"/{i}/"), "title": f"Judul {i} – ok"} for i in range(2)
    ]
    body = orjson.dumps({"version": JSON_FEED, "items": items}).replace(
        b"0 \xe2\x80\x93", b"0 \xff"
    )
    site.routes["/feed.json"] = Page(body)
    status = await poll_saved(ingestor, Source("json", site.url("/feed.json")))
    assert status.failures == 0, status.last_error
    assert sorted(a.title for a in await store.list(None)) == ["Judul 0 \ufffd ok", "Judul 1 – ok"]


# Item 3: bounds on titles, authors and articles.


async def test_huge_titles_authors_and_bodies_are_cut(
    site: Site, ingestor: Ingestor, store: Store
) -> None:
    words = " ".join(f"kata{i}" for i in range(200_000))  # about 1.4 MB of text
    huge = Item(words, site.url("/besar/"), NOW, author=words, content=f"<p>{words}</p>" * 2)
    site.routes["/feed/"] = Page(rss([huge]))
    ingestor.fetcher.max_bytes = 10_000_000
    status = await poll_saved(ingestor, Source("besar", site.url("/feed/")))
    assert status.failures == 0, status.last_error
    [article] = await store.list(None)
    assert len(article.title) <= MAX_TITLE_LENGTH and article.title.endswith("…")
    assert words.startswith(article.title[:-1])  # cut at a word
    assert len(article.author) <= MAX_AUTHOR_LENGTH
    total = len(article.title) + len(article.author) + len(article.summary) + len(article.content)
    assert MAX_ARTICLE_LENGTH * 0.9 < total <= MAX_ARTICLE_LENGTH
    assert article.content.startswith("<p>kata0 kata1") and article.content.endswith("<p>…</p>")
