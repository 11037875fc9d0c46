"""Dates of pushed articles do not drift: a re-post keeps the first date."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from feedsvc.app import make_app
from feedsvc.config import ApiSettings, Settings
from tests.publish.test_api import AUTH, TOKEN, body


@pytest.fixture
async def client(aiohttp_client, redis: Redis, settings: Settings):
    return await aiohttp_client(make_app(dataclasses.replace(settings, api=ApiSettings((TOKEN,)))))


async def test_repost_without_published_keeps_the_first_date(client) -> None:
    undated = body(published=None)
    resp = await client.post("/api/articles", json=undated, headers=AUTH)
    assert resp.status == 201
    url = (await resp.json())["url"]
    first = (await (await client.get(url)).json())["published"]
    for pause in (0, 1.01):  # the same second, then a later one ("now" would differ)
        await asyncio.sleep(pause)
        resp = await client.post("/api/articles", json=undated, headers=AUTH)
        assert resp.status == 200 and (await resp.json())["status"] == "unchanged"
    assert (await (await client.get(url)).json())["published"] == first
    # A change of content is an update that still keeps the date.
    resp = await client.post("/api/articles", json=body(published=None, title="Baru"), headers=AUTH)
    assert (await resp.json())["status"] == "updated"
    assert (await (await client.get(url)).json())["published"] == first


async def test_repost_of_a_dated_article_without_published_keeps_its_date(client) -> None:
    when = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    resp = await client.post("/api/articles", json=body(published=when.isoformat()), headers=AUTH)
    url = (await resp.json())["url"]
    resp = await client.post("/api/articles", json=body(published=None), headers=AUTH)
    assert (await resp.json())["status"] == "unchanged"
    got = datetime.fromisoformat((await (await client.get(url)).json())["published"])
    assert got == when


@pytest.mark.parametrize("ahead", [timedelta(days=1, minutes=1), timedelta(days=1500)])
async def test_a_date_more_than_a_day_ahead_is_a_400(client, ahead: timedelta) -> None:
    when = (datetime.now(UTC) + ahead).isoformat()
    resp = await client.post("/api/articles", json=body(published=when), headers=AUTH)
    assert resp.status == 400
    error = await resp.json()
    assert error["field"] == "published" and "more than a day in the future" in error["error"]
    assert (await (await client.get("/api/articles")).json())["articles"] == []


async def test_a_date_hours_ahead_is_kept_as_given(client) -> None:
    when = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    resp = await client.post("/api/articles", json=body(published=when.isoformat()), headers=AUTH)
    assert resp.status == 201
    got = (await (await client.get((await resp.json())["url"])).json())["published"]
    assert datetime.fromisoformat(got) == when
