"""Plain data the rest of the service passes around."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from feedsvc.urls import WEB_SCHEMES

MAX_SLUG_LENGTH = 64
DEFAULT_CATEGORY = "Umum"  # when neither an entry nor its source names a category
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """`KALTARA` -> `kaltara`, `Hukum & Kriminal` -> `hukum-kriminal`.

    Raises ValueError when nothing usable is left or the result is too long, so a
    category slug is always safe to put in a Redis key or a URL path.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NON_SLUG.sub("-", ascii_name.lower()).strip("-")
    if not slug:
        raise ValueError(f"category {name!r} has no letters or digits")
    if slug in RESERVED_SLUGS:
        raise ValueError(f"category {name!r} uses a reserved name")
    if len(slug) > MAX_SLUG_LENGTH:
        raise ValueError(f"category {name[:40]!r}… is longer than {MAX_SLUG_LENGTH} characters")
    return slug


def is_slug(text: str) -> bool:
    """True when `text` is already a valid slug (for checking URL and CLI input)."""
    try:
        return slugify(text) == text
    except ValueError:
        return False


RESERVED_SLUGS = frozenset({"all"})  # `all` names the every-category feed


def identity_key(guid_or_link: str) -> str:
    """Normalise a guid or link so trivial variants name the same article.

    `http://x.id/a/` and `https://x.id/a` are one article: scheme, host case and
    a trailing slash do not make a new post. A fragment does: newsletters and
    podcasts link their issues as `entries.php#100`, `#101`, ….
    """
    text = guid_or_link.strip()
    try:
        parts = urlsplit(text)
    except ValueError:  # "http://[::1": not a URL, an opaque string
        return text
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.netloc:
        return text
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"//{parts.netloc.lower()}{path}{query}{fragment}"


def stable_id(guid_or_link: str) -> str:
    """Article id: 16 hex digits of SHA-256 over the normalised guid or link."""
    return short_hash(identity_key(guid_or_link))


_ARTICLE_ID = re.compile(r"[0-9a-f]{16}")


def is_article_id(text: str) -> bool:
    """True for the form every article id has (for checking URL and CLI input)."""
    return _ARTICLE_ID.fullmatch(text) is not None


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("article times must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Article:
    """One news article as stored and republished.

    `content` is sanitised HTML, `summary` plain text; times are UTC. `categories`
    keeps display names (`KALTARA`); their slugs are what keys and URLs use.
    `image` is the featured image's absolute http(s) URL, or "" (what a photo push
    and the feeds' media:content show).
    """

    id: str
    title: str
    link: str
    categories: tuple[str, ...]
    published: datetime
    updated: datetime | None = None
    author: str = ""
    summary: str = ""
    content: str = ""
    source: str = ""
    guid: str = ""
    image: str = ""
    content_hash: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.categories:
            raise ValueError("an article needs at least one category")
        set_ = object.__setattr__
        by_slug: dict[str, str] = {}
        for name in self.categories:
            by_slug.setdefault(slugify(name), name)
        set_(self, "categories", tuple(by_slug.values()))
        set_(self, "published", _aware_utc(self.published))
        if self.updated is not None:
            set_(self, "updated", _aware_utc(self.updated))
        if not self.content_hash:
            set_(self, "content_hash", self.compute_hash())

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(slugify(name) for name in self.categories)

    def compute_hash(self) -> str:
        """Hash of what a reader sees, categories aside (the store merges those)."""
        parts = (
            self.title,
            self.link,
            self.published.isoformat(),
            self.updated.isoformat() if self.updated else "",
            self.author,
            self.summary,
            self.content,
        )
        # Added only when set, so articles stored before images keep their hash.
        image = (self.image,) if self.image else ()
        return short_hash("\x1e".join((*parts, *image)))


@dataclass(frozen=True, slots=True)
class Source:
    """A place articles come from. `origin` is "config" or "added" (CLI/OPML)."""

    name: str
    url: str
    kind: str = "feed"  # "feed" or "html"
    category: str = ""
    interval: float = 300.0
    link_selector: str = ""
    origin: str = "config"
    full_content: bool = False  # kind "feed": each new entry's page gives the content


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What the last polls of a source did; times are Unix seconds."""

    name: str
    url: str = ""  # where it is polled now; differs after a permanent redirect
    moved_to: str = ""  # a permanent redirect seen on the last `moved_seen` polls
    moved_seen: int = 0
    defined_url: str = ""  # the source's own URL when `url` was recorded
    etag: str = ""
    last_modified: str = ""
    last_poll: float | None = None
    last_success: float | None = None
    last_error: str = ""
    last_error_at: float | None = None
    failures: int = 0
    next_poll: float | None = None
    polls: int = 0
    new_articles: int = 0
    primed: bool = False  # a poll has succeeded once: later finds are news
    warning: str = ""  # what the last successful poll could not use ("2 entries skipped: …")
    excerpt_only: bool = False  # the feed's entries carry a summary only, no article text
