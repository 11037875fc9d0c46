"""A bad entry never costs the good ones; a crash or an empty feed is the source's status."""

from __future__ import annotations

import orjson
import pytest

from feedsvc.ingest import pipeline as ingest
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.models import Source
from feedsvc.storage.store import Store
from tests.fakes.site import Page, Site, rss
from tests.ingest.hostile.conftest import JSON_FEED, NOW, news, poll_saved

# Item 2: a bad entry never costs the good ones; a crash is the source's failure.


async def test_a_huge_retry_after_date_is_a_recorded_failure(
    site: Site, ingestor: Ingestor
) -> None:
    site.routes["/feed/"] = Page(
        status=503, headers={"Retry-After": "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"}
    )
    status = await poll_saved(ingestor, Source("busy", site.url("/feed/"), interval=300))
    assert (status.polls, status.failures) == (1, 1)
    assert "HTTP 503" in status.last_error
    # The unreadable date is ignored: ordinary backoff, not the 300 s lease.
    assert status.next_poll == pytest.approx(NOW.timestamp() + 300, abs=1)


async def test_broken_json_feed_items_are_skipped_and_counted(
    site: Site, ingestor: Ingestor, store: Store
) -> None:
    good = [{"id": f"g{i}", "url": site.url(f"/g{i}/"), "title": f"Baik {i}"} for i in range(2)]
    items = [good[0], 7, {"id": "t", "title": "Tag aneh", "tags": 5}, "x", good[1]]
    body = orjson.dumps({"version": JSON_FEED, "title": "J", "items": items})
    site.routes["/feed.json"] = Page(body, headers={"Content-Type": "application/feed+json"})
    status = await poll_saved(ingestor, Source("json", site.url("/feed.json")))
    assert status.failures == 0 and status.last_success
    titles = sorted(a.title for a in await store.list(None))
    assert titles == ["Baik 0", "Baik 1", "Tag aneh"]  # a field of the wrong type is no field
    assert status.warning.startswith("2 entries skipped: entry 2: ")
    assert "entry 4" in status.warning


async def test_an_unexpected_crash_is_recorded_on_the_source_at_once(
    site: Site, ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_parser(*args, **kw):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(ingest, "parse_feed", broken_parser)
    site.routes["/feed/"] = Page(rss(news(site, 2)))
    status = await poll_saved(ingestor, Source("crash", site.url("/feed/"), interval=300))
    assert (status.polls, status.failures) == (1, 1)
    assert status.last_error == "internal error: RuntimeError: something nobody foresaw"
    assert status.next_poll == pytest.approx(NOW.timestamp() + 300, abs=1)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (rss([]), ""),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Terpotong', "no element found"),
    ],
    ids=["empty", "truncated"],
)
async def test_a_feed_without_entries_is_a_warning(
    site: Site, ingestor: Ingestor, body: bytes, why: str
) -> None:
    site.routes["/feed/"] = Page(body)
    source = Source("kosong", site.url("/feed/"))
    status = await poll_saved(ingestor, source)
    assert status.failures == 0 and status.last_success
    assert status.warning.startswith("the feed has no entries")
    assert why in status.warning
    site.routes["/feed/"] = Page(rss(news(site, 1)))
    assert (await poll_saved(ingestor, source)).warning == ""
