"""What the render tests share: sample articles and feed info, readers of the output."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

import feedparser
from hypothesis import strategies as st
from lxml import etree

from feedsvc.models import Article, stable_id
from feedsvc.publish.render import (
    FORMATS,
    FeedInfo,
)

BASE = "https://berita.example.id"
T0 = datetime(2026, 9, 25, 2, 0, 30, 123456, tzinfo=UTC)  # 10:00:30 WITA
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
RFC822_WITA = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d \+0800$"
)
# Every key JSON Feed 1.1 defines, to catch a misspelt one.
# fmt: off
JSON_FEED_KEYS = {
    "version", "title", "home_page_url", "feed_url", "description", "user_comment",
    "next_url", "icon", "favicon", "authors", "language", "expired", "hubs", "items",
}
JSON_ITEM_KEYS = {
    "id", "url", "external_url", "title", "content_html", "content_text", "summary",
    "image", "banner_image", "date_published", "date_modified", "authors", "tags",
    "language", "attachments",
}
# fmt: on
RFC3339_WITA = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")

TRICKY_TITLE = "Harga <b>cabai</b> & \"bawang\" naik 20% di Tarakan 🌶️ ]]> kata 'warga'"
TRICKY_CONTENT = (
    '<p>Warga Nunukan berkata: "Harga &lt;naik&gt; &amp; turun" 🚀</p>'
    "<p>Ekspresi ]]> dan ]]&gt; tetap utuh; café, Rp 50.000 &amp; ½ kg</p>"
)


def make(n: int, **kw: object) -> Article:
    link = str(kw.pop("link", f"https://www.jurnalkaltara.com/2026/09/25/berita-{n}/"))
    fields: dict[str, object] = {
        "id": stable_id(link),
        "title": f"Pemprov Kaltara Dampingi Kabupaten/Kota {n}",
        "link": link,
        "categories": ("KALTARA", "Hukum & Kriminal"),
        "published": T0 - timedelta(hours=n),
        "author": "Redaksi Jurnal Kaltara",
        "summary": f"Bappeda dan Litbang Kaltara memperkuat sinergi pembangunan {n}.",
        "content": f"<p>TANJUNG SELOR – Bappeda dan Litbang Kaltara, berita {n}.</p>",
    }
    fields.update(kw)
    return Article(**fields)  # type: ignore[arg-type]


def info_for(fmt: str, **kw: object) -> FeedInfo:
    url = f"{BASE}/feeds/kaltara.{fmt}"
    fields: dict[str, object] = {
        "title": "Berita Kaltara — KALTARA",
        "description": "Berita terbaru kategori KALTARA",
        "home_url": BASE,
        "self_url": url,
        "category": "kaltara",
        "author": "Berita Kaltara",
        "first_url": url,
        "alternates": tuple((f, f"{BASE}/feeds/kaltara.{f}") for f in FORMATS),
    }
    fields.update(kw)
    return FeedInfo(**fields)  # type: ignore[arg-type]


def paged(fmt: str) -> FeedInfo:
    url = f"{BASE}/feeds/kaltara.{fmt}"
    return info_for(
        fmt,
        self_url=f"{url}?page=2&limit=3",
        first_url=f"{url}?limit=3",
        previous_url=f"{url}?page=1&limit=3",
        next_url=f"{url}?page=3&limit=3",
        last_url=f"{url}?page=7&limit=3",
        hub_url="https://hub.example.id/",
    )


ARTICLES = [make(0), make(1, updated=T0 + timedelta(hours=2)), make(2, author="")]


def xml(body: bytes) -> etree._Element:
    return etree.fromstring(body)


def parsed(body: bytes) -> feedparser.FeedParserDict:
    feed = feedparser.parse(body)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


def text(element: etree._Element, path: str) -> str | None:
    return element.findtext(path, namespaces=NS)


def links(root: etree._Element, parent: str) -> dict[str, str]:
    return {link.get("rel"): link.get("href") for link in root.iterfind(parent, NS)}


def utc(struct: object) -> datetime:
    return datetime.fromtimestamp(calendar.timegm(struct), UTC)  # type: ignore[arg-type]


xml_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=60,
).map(lambda s: s.replace("\r", ""))  # XML parsers turn a raw CR into LF by design
