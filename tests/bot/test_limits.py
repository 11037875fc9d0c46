"""Whatever a source sends, a push and the /kategori list are messages Telegram takes.

Articles are built the way ingest builds them (build_entry, then to_article), from
hostile text of any length; the fake Bot API's checker judges the HTML and length,
and the length is also counted in UTF-16 units, as Telegram counts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import messages
from feedsvc.ingest.entries import to_article
from feedsvc.ingest.parse.entry import build_entry
from feedsvc.models import Source
from feedsvc.storage.store import Category
from tests.fakes.telegram_html import MAX_TEXT, check_text

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
# Wide characters (emoji count twice in UTF-16), markup and entities, bidi controls.
ALPHABET = st.sampled_from(
    ["a", "Z", " ", "<", ">", "&", "&lt;", "<b>", "</i>", "é", "🎉", "\u202e", "\u200b", "漢"]
)
TEXT = st.lists(ALPHABET, max_size=3000).map("".join)
HUGE = st.integers(1, 6000).map(lambda n: "🎉kata " * n)


def telegram_takes(text: str) -> None:
    assert check_text(text, "HTML") == "", check_text(text, "HTML")
    visible = unescape(re.sub(r"<[^>]*>", "", text))
    assert len(visible.encode("utf-16-le")) // 2 <= MAX_TEXT


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.one_of(TEXT, HUGE),
    author=st.one_of(TEXT, HUGE),
    summary=st.one_of(TEXT, HUGE),
    categories=st.lists(st.one_of(TEXT, HUGE), max_size=15),
)
def test_a_push_is_a_message_telegram_takes(
    title: str, author: str, summary: str, categories: list[str]
) -> None:
    entry = build_entry(
        base="https://berita.example/feed/", guid="g", link="https://berita.example/a/",
        title=title, author=author, summary=summary, categories=categories,
        content_html=f"<p>{summary}</p>", published=NOW,
    )  # fmt: skip
    assert entry is not None
    article = to_article(entry, Source("s", "https://berita.example/feed/"), NOW)
    telegram_takes(messages.push(article))


@settings(max_examples=30, deadline=None)
@given(
    names=st.lists(st.one_of(TEXT, HUGE), min_size=1, max_size=400),
    counts=st.integers(1, 10**9),
)
def test_the_category_list_is_a_message_telegram_takes(names: list[str], counts: int) -> None:
    found = [Category(f"slug-{i}", name or "x", counts - i) for i, name in enumerate(names)]
    text = messages.categories(found)
    telegram_takes(text)
    assert text.count("•") <= len(found)


def test_a_list_of_emoji_names_counts_as_telegram_counts() -> None:
    found = [Category(f"e-{i}", "🎉" * 100, 1) for i in range(200)]
    telegram_takes(messages.categories(found))


def test_a_long_category_list_says_how_many_are_left_off() -> None:
    found = [Category(f"kategori-{i}", f"Kategori panjang nomor {i} " * 3, 10) for i in range(300)]
    text = messages.categories(found)
    telegram_takes(text)
    shown = text.count("•")
    assert 0 < shown < 300 and f"… dan {300 - shown} kategori lain" in text
