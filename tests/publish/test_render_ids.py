"""Ids, determinism and times of rendered feeds; paging and WebSub links."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from feedsvc.publish.render import (
    FORMATS,
    entry_id,
    last_updated,
    render,
    render_atom,
    render_json,
    render_rss,
)
from tests.publish.rendering import (
    ARTICLES,
    BASE,
    NS,
    T0,
    info_for,
    links,
    make,
    paged,
    parsed,
    text,
    xml,
)

# --- ids, determinism, times -----------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_input_gives_same_bytes(fmt: str) -> None:
    copies = [dataclasses.replace(a) for a in ARTICLES]
    assert render(fmt, paged(fmt), ARTICLES) == render(fmt, paged(fmt), copies)


def test_ids_survive_an_update() -> None:
    before = make(1)
    after = dataclasses.replace(
        before, title="Judul diperbarui", updated=T0 + timedelta(days=1), content_hash=""
    )
    info = info_for("rss")
    assert entry_id(info, before) == entry_id(info, after)
    guids = [xml(render_rss(info, [a])).findtext("channel/item/guid") for a in (before, after)]
    assert guids[0] == guids[1] == f"tag:berita.example.id,2026:article:{before.id}"


def test_feed_time_is_the_newest_change_never_now() -> None:
    older = make(5, updated=T0 + timedelta(days=3))  # an old post edited later
    assert last_updated([make(0), older]) == T0 + timedelta(days=3)
    assert last_updated([]) is None
    # an "updated" before "published" is a source bug and never moves a time backwards
    odd = make(0, updated=T0 - timedelta(days=9))
    assert last_updated([odd]) == T0


def test_times_follow_the_feed_time_zone() -> None:
    info = info_for("rss", timezone=UTC)
    item = xml(render_rss(info, [make(0)])).find("channel/item")
    assert item.findtext("pubDate") == "Fri, 25 Sep 2026 02:00:30 +0000"


def test_seconds_offsets_of_old_local_mean_time_fall_back_to_utc() -> None:
    # Asia/Makassar was +07:57:36 before 1932: not writable in RFC 822 or RFC 3339.
    old = make(0, published=datetime(1900, 1, 1, tzinfo=UTC))
    info = info_for("rss", timezone=ZoneInfo("Asia/Makassar"))
    assert xml(render_rss(info, [old])).findtext("channel/item/pubDate") == (
        "Mon, 01 Jan 1900 00:00:00 +0000"
    )
    entry = xml(render_atom(info, [old])).find("atom:entry", NS)
    assert text(entry, "atom:published") == "1900-01-01T00:00:00+00:00"
    recent = xml(render_rss(info, [make(0)])).findtext("channel/item/pubDate")
    assert recent.endswith("+0800")


# --- paging and WebSub links ------------------------------------------------------------


def test_paging_and_hub_links_in_rss_and_atom() -> None:
    for fmt, path in (("rss", "channel/atom:link"), ("atom", "atom:link")):
        url = f"{BASE}/feeds/kaltara.{fmt}"
        got = links(xml(render(fmt, paged(fmt), ARTICLES)), path)
        assert got["self"] == f"{url}?page=2&limit=3"
        assert got["first"] == f"{url}?limit=3"
        assert got["previous"] == f"{url}?page=1&limit=3"
        assert got["next"] == f"{url}?page=3&limit=3"
        assert got["last"] == f"{url}?page=7&limit=3"
        assert got["hub"] == "https://hub.example.id/"
        feed = parsed(render(fmt, paged(fmt), ARTICLES)).feed
        assert {link.rel for link in feed.links} >= {"self", "hub", "first", "next", "last"}


def test_single_page_has_no_next_previous_or_hub() -> None:
    for fmt, path in (("rss", "channel/atom:link"), ("atom", "atom:link")):
        info = info_for(fmt, first_url=None, alternates=())
        got = links(xml(render(fmt, info, ARTICLES)), path)
        # Atom's home-page link is an atom:link too; RSS has <link> for it
        assert set(got) == ({"self", "alternate"} if fmt == "atom" else {"self"})
    feed = orjson.loads(render_json(info_for("json"), ARTICLES))
    assert "next_url" not in feed and "hubs" not in feed


def test_last_page_links_back_but_not_forward() -> None:
    info = info_for(
        "atom",
        self_url=f"{BASE}/feeds/kaltara.atom?page=7",
        previous_url=f"{BASE}/feeds/kaltara.atom?page=6",
        last_url=f"{BASE}/feeds/kaltara.atom?page=7",
    )
    got = links(xml(render_atom(info, ARTICLES)), "atom:link")
    assert "next" not in got
    assert got["previous"].endswith("page=6") and got["last"].endswith("page=7")
