"""The featured image: read from feeds and pages, stored, republished, on the index page."""

from __future__ import annotations

from datetime import UTC, datetime

import feedparser
import orjson
import pytest
from redis.asyncio import Redis

from feedsvc.config import Settings
from feedsvc.ingest.parse import parse_feed
from feedsvc.ingest.pushed import article_from_json
from feedsvc.models import short_hash, stable_id
from feedsvc.publish.api import article_json
from feedsvc.publish.pages import render_index
from feedsvc.publish.render import render
from feedsvc.storage.store import Store
from tests.publish.rendering import info_for, make

IMAGE = "https://www.jurnalkaltara.com/wp-content/uploads/2026/09/bappeda.jpg"
NOW = datetime(2026, 9, 25, 4, 0, tzinfo=UTC)
SITE = "https://www.jurnalkaltara.com"
RSS = {"Content-Type": "application/rss+xml"}


def rss_item(extra: str) -> bytes:
    return f"""<?xml version="1.0"?><rss version="2.0"
      xmlns:media="http://search.yahoo.com/mrss/"><channel><title>x</title><link>{SITE}/</link>
      <item><title>Judul</title><link>{SITE}/2026/09/25/judul/</link>{extra}</item>
      </channel></rss>""".encode()


@pytest.mark.parametrize(
    "extra",
    [
        f'<enclosure url="{IMAGE}" type="image/jpeg" length="0"/>',
        f'<media:content url="{IMAGE}" medium="image"/>',
        f'<media:content url="{IMAGE}" type="image/jpeg"/>',
        f'<media:thumbnail url="{IMAGE}"/>',
        '<enclosure url="/wp-content/uploads/2026/09/bappeda.jpg" type="image/jpeg"/>',
    ],
)
def test_a_feed_entry_image(extra: str) -> None:
    [entry] = parse_feed(rss_item(extra), RSS, f"{SITE}/feed/").entries
    assert entry.image == IMAGE


def test_an_audio_enclosure_is_not_an_image() -> None:
    extra = f'<enclosure url="{SITE}/podcast.mp3" type="audio/mpeg" length="1"/>'
    [entry] = parse_feed(rss_item(extra), RSS, f"{SITE}/feed/").entries
    assert entry.image == ""


def test_a_json_feed_item_image() -> None:
    body = orjson.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "x",
            "items": [{"id": "1", "url": f"{SITE}/a/", "title": "A", "image": IMAGE}],
        }
    )
    [entry] = parse_feed(
        body, {"Content-Type": "application/feed+json"}, f"{SITE}/feed.json"
    ).entries
    assert entry.image == IMAGE


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_rss_and_atom_carry_media_content(fmt: str) -> None:
    body = render(fmt, info_for(fmt), [make(0, image=IMAGE), make(1)])
    feed = feedparser.parse(body)
    assert feed.bozo == 0, feed.get("bozo_exception")
    with_image, without = feed.entries
    assert with_image.media_content == [{"url": IMAGE, "medium": "image"}]
    assert "media_content" not in without


def test_json_feed_carries_image() -> None:
    items = orjson.loads(render("json", info_for("json"), [make(0, image=IMAGE), make(1)]))["items"]
    assert items[0]["image"] == IMAGE and "image" not in items[1]


async def test_the_store_keeps_the_image(redis: Redis) -> None:
    store = Store(redis, retention=10)
    article = make(0, image=IMAGE)
    await store.upsert_many([(article, False)])
    [stored] = await store.list("kaltara")
    assert stored.image == IMAGE
    assert stored.content_hash == article.content_hash


def test_an_article_without_image_keeps_the_hash_it_had() -> None:
    # Articles stored before images existed must not all look changed.
    a = make(0)
    parts = (a.title, a.link, a.published.isoformat(), "", a.author, a.summary, a.content)
    assert a.content_hash == short_hash("\x1e".join(parts))
    assert make(0, image=IMAGE).content_hash != a.content_hash


def test_the_index_page_shows_the_image() -> None:
    page = render_index(Settings(), [], [make(0, image=IMAGE), make(1)], NOW)
    assert page.count('class="thumb"') == 1
    assert f'src="{IMAGE}"' in page


def test_the_api_gives_and_takes_the_image() -> None:
    pushed = article_from_json(
        {"title": "Judul", "link": f"{SITE}/a/", "categories": ["KALTARA"], "image": IMAGE}, NOW
    )
    assert pushed.image == IMAGE
    assert article_json(pushed)["image"] == IMAGE
    assert article_json(make(1))["image"] is None
    assert stable_id(f"{SITE}/a/") == pushed.id
