"""An article pushed through the JSON API (POST /api/articles): checked and cleaned.

In: the decoded JSON body and the time of the request. Out: an `Article` as the
store keeps it, or `BadField` naming the field that was wrong. The API's side of
the one sanitising door, beside `parse/entry.build_entry` for polled sources:
every text goes through the sanitiser here, so read paths use what was stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from feedsvc.ingest.entries import article_categories
from feedsvc.ingest.sanitize import absolute_url, clean_html, clean_text, html_to_text, summarize
from feedsvc.models import Article, slugify, stable_id
from feedsvc.urls import http_url

MAX_TITLE = 1000
MAX_FUTURE = timedelta(days=1)  # later than this, `published` is a mistake: 400
EARLIEST_PUBLISHED = datetime(1900, 1, 1, tzinfo=UTC)  # news; and WITA of it can be held
_FIELDS = {
    "title", "link", "categories", "content", "summary", "author", "published", "guid", "image",
}  # fmt: skip


class BadField(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


def article_from_json(data: Any, now: datetime) -> Article:
    """Validate and sanitise a pushed article; raises BadField naming the field."""
    if not isinstance(data, dict):
        raise BadField(None, "body must be a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise BadField(unknown[0], f"unknown field {unknown[0]!r}")
    link = _link(data.get("link"))
    title = clean_text(_string(data, "title", required=True))
    if not title or len(title) > MAX_TITLE:
        raise BadField("title", f"title must have 1-{MAX_TITLE} characters of text")
    content = clean_html(_string(data, "content"), link)
    summary = clean_text(_string(data, "summary")) or html_to_text(content)
    guid = _string(data, "guid").strip()
    return Article(
        id=stable_id(guid or link),
        title=title,
        link=link,
        categories=_categories(data.get("categories")),
        published=_published(data.get("published"), now),
        author=clean_text(_string(data, "author")),
        summary=summarize(summary),
        content=content,
        source="api",
        guid=guid,
        image=_image(data.get("image")),
    )


def _image(value: Any) -> str:
    if value is None or value == "":
        return ""
    image = absolute_url(value, "") if isinstance(value, str) else None
    if not image or http_url(image) is None:
        raise BadField("image", "image must be an absolute http(s) URL")
    return image


def _string(data: dict[str, Any], field: str, *, required: bool = False) -> str:
    value = data.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadField(field, f"{field} must be a string")
    return value


def _link(value: Any) -> str:
    if not isinstance(value, str) or http_url(value) is None:
        raise BadField("link", "link must be an absolute http(s) URL")
    if len(value) > 2000 or any(c.isspace() for c in value):
        raise BadField("link", "link must be a URL without spaces, at most 2000 characters")
    return value


def _categories(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadField("categories", "categories must be a non-empty list of strings")
    names = [clean_text(v) for v in value]
    for name in names:
        try:
            slugify(name)
        except ValueError as exc:
            raise BadField("categories", str(exc)) from None
    return article_categories(names, "")


def _published(value: Any, now: datetime) -> datetime:
    if value is None:
        # Whole seconds, as the store's score keeps it: a re-post then hashes the same.
        return now.replace(microsecond=0)
    if not isinstance(value, str):
        raise BadField("published", "published must be an ISO 8601 string")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise BadField("published", f"published is not ISO 8601: {value[:40]!r}") from None
    if when.tzinfo is None:
        raise BadField("published", "published needs a time zone, e.g. +08:00")
    try:
        when = when.astimezone(UTC)  # "0001-01-01T00:00:00+14:00" is before year 1
    except OverflowError:
        when = EARLIEST_PUBLISHED - timedelta(days=1)
    if when < EARLIEST_PUBLISHED:
        raise BadField("published", f"published must be after {EARLIEST_PUBLISHED.year}")
    if when > now + MAX_FUTURE:
        raise BadField(
            "published",
            f"published is more than a day in the future: {value[:40]!r} (is its zone right?)",
        )
    return when
