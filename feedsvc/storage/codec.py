"""How an article is kept in Redis: its JSON document, sort score, link and alt ids."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from feedsvc.models import Article, identity_key, short_hash

SEP = "\x1f"  # between category names in an article's `n` field


def score_of(when: datetime) -> int:
    """The sort score of a time: milliseconds since the epoch."""
    return int(when.timestamp() * 1000)


def link_key(link: str) -> str:
    return short_hash(identity_key(link))


def alt_id(article: Article) -> str:
    """The id of this source's own copy when another source's post has the same identity."""
    return short_hash(f"{article.source}\x1f{article.id}")


def text_mark(article: Article) -> str:
    """A mark of what a push shows of the article's own words (title and lead): when it
    changes, messages already sent are corrected."""
    return short_hash(f"{article.title}{SEP}{article.summary}")


def encode(article: Article) -> bytes:
    return orjson.dumps(
        {
            "title": article.title,
            "link": article.link,
            "published": article.published.isoformat(),
            "updated": article.updated.isoformat() if article.updated else None,
            "author": article.author,
            "summary": article.summary,
            "content": article.content,
            "source": article.source,
            "guid": article.guid,
            "image": article.image,
            "hash": article.content_hash,
        }
    )


def decode(article_id: str, doc: str | bytes, names: str) -> Article:
    d: dict[str, Any] = orjson.loads(doc)
    updated = d.get("updated")
    return Article(
        id=article_id,
        title=d["title"],
        link=d["link"],
        categories=tuple(names.split(SEP)),
        published=datetime.fromisoformat(d["published"]).astimezone(UTC),
        updated=datetime.fromisoformat(updated) if updated else None,
        author=d.get("author", ""),
        summary=d.get("summary", ""),
        content=d.get("content", ""),
        source=d.get("source", ""),
        guid=d.get("guid", ""),
        image=d.get("image", ""),
        content_hash=d.get("hash", ""),
    )
