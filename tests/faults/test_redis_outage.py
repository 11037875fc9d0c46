"""Redis stopped for 10 s under a running web and worker: both ride it out."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from feedsvc.storage.connection import client_from_url
from feedsvc.storage.store import Store
from tests.cli.test_cli import free_port
from tests.fakes.site import Item, Page, rss
from tests.faults.harness import Fleet, assert_logs_clean, config_text, get, until

NOW = datetime.now(UTC)
OUTAGE = 10.0


def items(n: int, base: str) -> list[Item]:
    return [
        Item(f"Berita {i}", f"{base}/a/{i}/", NOW - timedelta(minutes=60 - i)) for i in range(n)
    ]


async def stored_links(url: str) -> list[str]:
    client = client_from_url(url)
    try:
        return [a.link for a in await Store(client).list(None, limit=1000)]
    except Exception:
        return []
    finally:
        await client.aclose()


async def test_redis_stopped_10s_during_polling(site, redis_process, fleet: Fleet) -> None:
    site.routes["/feed/"] = Page(rss(items(3, site.base)), etag=True)
    fleet.config.write_text(config_text(redis_process.url, {"lokal": site.url("/feed/")}))
    port = free_port()
    web = await fleet.start("web", "web", "--port", str(port))
    worker = await fleet.start("worker", "worker")
    health = f"http://127.0.0.1:{port}/healthz"

    assert await until(lambda: _count_is(redis_process.url, 3), 60), "first poll never stored"
    # The web process may still be starting on a loaded machine: wait for it, not a fixed time.
    assert await until(lambda: _status_is(health, 200), 30), "/healthz never said 200"

    redis_process.stop()
    stopped = time.monotonic()
    site.routes["/feed/"] = Page(rss(items(6, site.base)), etag=True)  # news during the outage
    assert await until(lambda: _status_is(health, 503), 10), "/healthz never said 503"
    await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - stopped)))
    assert web.running and worker.running, "a process gave up while Redis was away"
    redis_process.start()

    assert await until(lambda: _status_is(health, 200), 20), "/healthz never came back"
    assert await until(lambda: _count_is(redis_process.url, 6), 30), "polls did not resume"
    site.routes["/feed/"] = Page(rss(items(7, site.base)), etag=True)
    assert await until(lambda: _count_is(redis_process.url, 7), 30), "polling stopped again"

    links = await stored_links(redis_process.url)
    assert sorted(links) == sorted(i.link for i in items(7, site.base)), "lost or doubled"
    assert [await fleet.stop("web"), await fleet.stop("worker")] == [0, 0]
    lines = fleet.lines()
    assert any("Redis unreachable" in ln for ln in lines)
    assert_logs_clean(lines)


async def _count_is(url: str, n: int) -> bool:
    return len(await stored_links(url)) == n


async def _status_is(url: str, status: int) -> bool:
    return (await get(url))[0] == status
