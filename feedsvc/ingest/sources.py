"""Which sources exist and how their polls went.

Sources come from the config file and from `feedsvc sources add` / OPML import
(kept in Redis, so every worker sees them). A source's status (conditional-GET
validators, last success and error, failures, next poll) lives in Redis too,
so it survives restarts and is shared by workers.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import orjson
from redis.asyncio import Redis

from feedsvc.config import Settings, check_source_fields
from feedsvc.models import Source, SourceStatus
from feedsvc.storage import keys
from feedsvc.storage.store import Store

_STATUS_FIELDS = {f.name: f for f in dataclasses.fields(SourceStatus)}
_SAVED_FIELDS = [name for name in _STATUS_FIELDS if name != "name"]


class SourceError(ValueError):
    """A bad source definition or an unknown source; the message is for the user."""


def check_source(source: Source, prefix: str | None = None) -> None:
    """Raise SourceError naming the field after `prefix` (by default "source 'NAME': ")."""
    lead = f"source {source.name!r}: " if prefix is None else prefix

    def fail(field: str, why: str) -> typing.NoReturn:
        raise SourceError(f"{lead}{field} {why}")

    check_source_fields(
        source.name, source.url, source.kind, source.interval, source.category, fail,
        full_content=source.full_content,
    )  # fmt: skip


class SourceRegistry:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings

    def configured(self) -> list[Source]:
        return [
            Source(
                name=s.name,
                url=s.url,
                kind=s.kind,
                category=s.category,
                interval=self.settings.source_interval(s),
                link_selector=s.link_selector,
                full_content=s.full_content,
            )
            for s in self.settings.sources
        ]

    async def all(self) -> list[Source]:
        """Config sources first, then those added at run time (config wins on a name clash)."""
        sources = {s.name: s for s in self.configured()}
        for name, raw in (await self.redis.hgetall(keys.SOURCES)).items():
            if name not in sources:
                sources[name] = Source(**orjson.loads(raw), origin="added")
        return list(sources.values())

    async def get(self, name: str) -> Source | None:
        return next((s for s in await self.all() if s.name == name), None)

    async def add(self, source: Source) -> bool:
        """Store a run-time source; False when the name is taken."""
        check_source(source)
        if any(s.name == source.name for s in self.configured()):
            return False
        body = dataclasses.asdict(source)
        body.pop("origin")
        if not await self.redis.hsetnx(keys.SOURCES, source.name, orjson.dumps(body)):
            return False
        if source.category:  # its category has (empty) feeds at once
            await Store(self.redis).declare([source.category])
        return True

    async def remove(self, name: str) -> None:
        if any(s.name == name for s in self.configured()):
            where = self.settings.path or "the config file"
            raise SourceError(f"source {name} is defined in {where}; remove it there")
        if not await self.redis.hdel(keys.SOURCES, name):
            raise SourceError(f"no source named {name!r}")
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(keys.source_status(name), keys.source_seen(name), keys.source_posted(name))
            pipe.zrem(keys.SCHEDULE_DUE, name)
            await pipe.execute()

    async def status(self, name: str) -> SourceStatus:
        return _decode_status(name, await self.redis.hgetall(keys.source_status(name)))

    async def statuses(self, names: list[str]) -> list[SourceStatus]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(keys.source_status(name))
            raw = await pipe.execute()
        return [_decode_status(n, r) for n, r in zip(names, raw, strict=True)]

    async def failing(self) -> tuple[int, list[SourceStatus]]:
        """How many sources there are, and the status of each whose last poll failed."""
        names = [s.name for s in await self.all()]
        return len(names), [st for st in await self.statuses(names) if st.failures]

    async def save_status(self, status: SourceStatus) -> None:
        # Every field is written each time, so one HSET replaces the whole status.
        mapping = {name: _encode_value(getattr(status, name)) for name in _SAVED_FIELDS}
        await self.redis.hset(keys.source_status(status.name), mapping=mapping)


def _encode_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _decode_status(name: str, raw: dict[str, str]) -> SourceStatus:
    values: dict[str, Any] = {}
    for key, text in raw.items():
        f = _STATUS_FIELDS.get(key)
        if f is None or key == "name":
            continue
        kind = str(f.type)
        if "float" in kind:
            values[key] = float(text) if text else None
        elif "int" in kind:
            values[key] = int(text or 0)
        elif "bool" in kind:
            values[key] = text == "1"
        else:
            values[key] = text
    return SourceStatus(name=name, **values)
