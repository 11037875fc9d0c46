"""A removed article, end to end: gone from every feed, listing, page and /terbaru at
once; the next poll of its source on the loopback site does not bring it back; never
pushed."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.subscriptions import Subscriptions
from feedsvc.app import make_app
from feedsvc.config import ApiSettings, PollSettings, Settings
from feedsvc.ingest.fetch import new_session
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.models import Source, SourceStatus, stable_id
from feedsvc.storage import keys
from feedsvc.storage.store import Store
from tests.bot.helpers import READER, ask, nothing_pending, until
from tests.fakes.site import Item, Page, Site, rss

TOKEN = "removal-test-token"
FEEDS = [
    "/feeds/kaltara.rss", "/feeds/kaltara.atom", "/feeds/kaltara.json", "/feeds/all.rss",
    "/feeds/all.json", "/feed/", "/feed/atom/", "/category/kaltara/feed/",
]  # fmt: skip
LISTINGS = ["/api/articles", "/api/articles?category=kaltara", "/"]


def item(site: Site, n: int, now: datetime) -> Item:
    return Item(
        title=f"Berita nomor {n}",
        link=site.url(f"/2026/12/02/berita-{n}/"),
        published=now - timedelta(minutes=10 * n),
        categories=("KALTARA",),
        guid=site.url(f"/?p={n}"),
        content=f"<p>Isi berita nomor {n}</p>",
    )


@pytest.fixture
async def web(aiohttp_client, bot_settings: Settings):
    settings = dataclasses.replace(bot_settings, api=ApiSettings(tokens=(TOKEN,)))
    return await aiohttp_client(make_app(settings, ("web",)))


async def test_removed_is_gone_everywhere_and_stays_gone(
    web, site: Site, telegram, redis: Redis, store: Store, running, bot_settings: Settings
) -> None:
    now = datetime.now(UTC)
    await Subscriptions(redis).add(READER, ["kaltara"])
    site.routes["/feed/"] = Page(rss([item(site, n, now) for n in (1, 2, 3)]))
    source = Source("jurnal", site.url("/feed/"), category="KALTARA")
    settings = dataclasses.replace(bot_settings, poll=PollSettings(timeout=2))
    async with new_session(settings.user_agent) as session:
        ingestor = Ingestor.from_settings(settings, redis, session, store=store)
        status, counts = await ingestor.poll_counted(source, SourceStatus("jurnal"))
        assert counts.new == 3 and status.primed  # the first poll: stored, not pushed
        gone = stable_id(site.url("/?p=2"))
        before = {path: (await web.get(path)).headers["ETag"] for path in FEEDS}
        for path in FEEDS + LISTINGS:
            assert "Berita nomor 2" in await (await web.get(path)).text(), path

        resp = await web.delete(f"/api/articles/{gone}", headers={"Authorization": TOKEN})
        assert resp.status == 401
        resp = await web.delete(
            f"/api/articles/{gone}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert resp.status == 204

        # Gone at once: every feed's ETag changed, no page or listing names it.
        for path in FEEDS:
            resp = await web.get(path, headers={"If-None-Match": before[path]})
            assert resp.status == 200 and resp.headers["ETag"] != before[path], path
            text = await resp.text()
            assert "Berita nomor 2" not in text and "Berita nomor 1" in text, path
        for path in LISTINGS:
            text = await (await web.get(path)).text()
            assert "Berita nomor 2" not in text, path
        assert (await web.get(f"/api/articles/{gone}")).status == 404
        reply = await ask(telegram, READER, "/terbaru")
        assert "Berita nomor 1" in reply and "Berita nomor 2" not in reply

        # The next polls find it on the site again (and one new post): not stored again.
        site.routes["/feed/"] = Page(rss([item(site, n, now) for n in (0, 1, 2, 3)]))
        status, counts = await ingestor.poll_counted(source, status)
        assert (counts.new, counts.removed, counts.unchanged) == (1, 1, 2)
        _, counts = await ingestor.poll_counted(source, status)
        assert (counts.new, counts.removed, counts.unchanged) == (0, 1, 3)

    assert await store.get(gone) is None and await store.count("kaltara") == 3
    for path in FEEDS + LISTINGS:
        assert "Berita nomor 2" not in await (await web.get(path)).text(), path
    # Pushed: the new post, once; the removed one never.
    await telegram.wait_sent(2)  # the /terbaru reply and the push
    await until(lambda: nothing_pending(redis))
    await asyncio.sleep(0.3)
    pushes = [m.text for m in telegram.sent_to(READER) if "Baca selengkapnya" in m.text]
    assert len(pushes) == 1 and "Berita nomor 0" in pushes[0]
    assert not any("Berita nomor 2" in m.text for m in telegram.sent)
    # The removal event is in the stream and the bot acknowledged it like any other.
    kinds = [f.get("event") for _, f in await redis.xrange(keys.EVENTS)]
    assert kinds.count("removed") == 1 and kinds.count("new") == 4
