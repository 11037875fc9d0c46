"""2 web + 2 worker + 2 bot processes on one Redis, as a scaled-out deployment runs.

Each source is polled once per interval (not once per worker), every push reaches
every chat once (not once per bot), both web processes serve the same bytes and
ETag, every kind stops cleanly on SIGTERM, and no log line carries a secret.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import aiohttp
from redis.asyncio import Redis

from bot.subscriptions import Subscriptions
from feedsvc.ingest.schedule import JITTER
from feedsvc.storage.store import Store
from tests.cli.test_cli import free_port
from tests.fakes.site import Item, Page, Site, rss
from tests.fakes.telegram_api import FakeTelegram
from tests.faults.harness import (
    API_TOKEN,
    BOT_TOKEN,
    Fleet,
    assert_logs_clean,
    config_text,
    get,
    until,
)

NOW = datetime.now(UTC)
INTERVAL = 1.0
SOURCES = 3
CHATS = list(range(5001, 5021))


def news(source: int, n: int, base: str, fresh: int = 0) -> list[Item]:
    """`n` old posts of a source, then `fresh` new ones (pushable)."""
    old = [
        Item(f"Lama {source}-{i}", f"{base}/s{source}/a{i}/", NOW - timedelta(hours=2 + i))
        for i in range(n)
    ]
    new = [
        Item(f"Baru {source}-{i}", f"{base}/s{source}/b{i}/", datetime.now(UTC))
        for i in range(fresh)
    ]
    return new + old


async def test_two_of_each_process_kind_on_one_redis(
    site, redis: Redis, redis_url: str, fleet: Fleet
) -> None:
    for s in range(SOURCES):
        site.routes[f"/feed/{s}/"] = Page(rss(news(s, 3, site.base)), etag=True)
    for chat in CHATS:
        await Subscriptions(redis).add(chat, ["kaltara"])
    async with FakeTelegram(token=BOT_TOKEN) as telegram:
        fleet.config.write_text(
            config_text(
                redis_url,
                {f"sumber{s}": site.url(f"/feed/{s}/") for s in range(SOURCES)},
                interval=INTERVAL,
                telegram=f"api_base_url = '{telegram.base_url}'\n",
            )
        )
        ports = [free_port(), free_port()]
        for i, port in enumerate(ports):
            await fleet.start(f"web{i}", "web", "--port", str(port))
        for kind in ("worker", "bot"):
            for i in range(2):
                await fleet.start(f"{kind}{i}", kind)
        for name in ("bot0", "bot1"):
            await fleet.wait_log(name, "running", timeout=60)

        # First polls prime the sources: stored, not pushed.
        assert await until(lambda: _stored(redis, SOURCES * 3), 60), "first polls missing"
        since = time.monotonic()
        await asyncio.sleep(4 * INTERVAL)
        _assert_polled_once_per_interval(site, since, time.monotonic())
        assert not telegram.sent, "posts of a first poll were pushed"

        # News: two fresh posts on one source, one pushed through the API.
        site.routes["/feed/0/"] = Page(rss(news(0, 3, site.base, fresh=2)), etag=True)
        status = await _post_article(ports[0])
        assert status == 201
        expected = 3 * len(CHATS)
        await until(lambda: len(telegram.sent) >= expected, 60)
        await asyncio.sleep(2)  # anything sent twice would arrive by now
        per_chat = Counter((m.chat_id, m.text.split("\n")[0]) for m in telegram.sent)
        assert len(telegram.sent) == expected, f"{len(telegram.sent)} sends, not {expected}"
        assert set(per_chat.values()) == {1}, "a chat got a post twice"
        assert {chat for chat, _ in per_chat} == set(CHATS)
        assert await Store(redis).count() == SOURCES * 3 + 3

        await _assert_same_feed_from_both(ports)

        codes = {name: await fleet.stop(name) for name in list(fleet.procs)}
        assert codes == dict.fromkeys(codes, 0), codes
    assert_logs_clean(fleet.lines())
    assert any(json.loads(ln).get("logger") == "aiohttp.access" for ln in fleet.lines())


async def _stored(redis: Redis, n: int) -> bool:
    return await Store(redis).count() >= n


def _assert_polled_once_per_interval(site: Site, since: float, until_: float) -> None:
    window = until_ - since
    for s in range(SOURCES):
        times = [h.at for h in site.hits_for(f"/feed/{s}/")]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # Two workers polling one source would show as near-simultaneous hits.
        assert gaps and min(gaps) >= 0.5 * INTERVAL, (s, gaps)
        recent = [t for t in times if since <= t <= until_]
        most = window / ((1 - JITTER) * INTERVAL) + 1
        assert window / INTERVAL / 2 <= len(recent) <= most, (s, len(recent), window)


async def _post_article(port: int) -> int:
    body = {
        "title": "Banjir di Tanjung Selor",
        "link": "https://berita.example/banjir-tanjung-selor/",
        "categories": ["KALTARA"],
        "summary": "Air naik sejak pagi.",
    }
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}/api/articles", json=body, headers=headers) as resp,
    ):
        return resp.status


async def _assert_same_feed_from_both(ports: list[int]) -> None:
    answers = [await get(f"http://127.0.0.1:{p}/feeds/kaltara.rss") for p in ports]
    (s0, h0, b0), (s1, h1, b1) = answers
    assert s0 == s1 == 200
    assert b0 == b1 and h0["ETag"] == h1["ETag"]
    for port in ports:
        status, _, _ = await get(
            f"http://127.0.0.1:{port}/feeds/kaltara.rss", **{"If-None-Match": h0["ETag"]}
        )
        assert status == 304
