"""The keyword matcher (feedsvc/words.py) and quiet hours (bot/quiet.py): pure."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bot.quiet import is_quiet, parse_window
from bot.subscriptions import wanted
from feedsvc.words import (
    MAX_KEYWORDS,
    FilterIndex,
    KeywordError,
    Problem,
    compiled,
    parse_keywords,
    word_set,
)


def passes(keywords: str, text: str) -> bool:
    return parse_keywords(keywords).matches(word_set(text))


@pytest.mark.parametrize(
    ("keywords", "text"),
    [
        ("banjir", "Warga Tanjung Selor kebanjiran sejak pagi"),
        ("longsor", "Tanah longsor menutup jalan di Malinau"),
        ("banjir, longsor", "Tanah longsor menutup jalan"),
        ("PLN", "Pemadaman (PLN) di Tarakan"),
        ("pln", "PLN: listrik padam"),
        ("bulungan", "BULUNGAN menata kota"),
        ("cafe", "Café baru di Tarakan"),
        ("bangun", "Pembangunan jembatan dimulai"),
        ("longsor", "Jalan tanah-longsor lagi"),
    ],
)
def test_keywords_match_whole_words_case_accents_and_affixes(keywords: str, text: str) -> None:
    assert passes(keywords, text)


@pytest.mark.parametrize(
    ("keywords", "text"),
    [
        ("banjir", "Harga sembako naik"),
        ("pln", "PLNX meluncurkan produk"),  # whole words only
        ("banjir", "banjirbandang.com dibuka"),
        ("tarakan", "Pemkab Nunukan"),
    ],
)
def test_keywords_do_not_match_other_words(keywords: str, text: str) -> None:
    assert not passes(keywords, text)


def test_minus_excludes_and_alone_means_everything_but() -> None:
    assert not passes("banjir -hoaks", "Hoaks banjir di Tarakan")
    assert passes("banjir -hoaks", "Banjir di Tarakan")
    assert passes("-olahraga", "Banjir di Tarakan")
    assert not passes("-olahraga", "Olahraga pagi")
    assert parse_keywords("").matches(word_set("apa saja"))


def test_stored_form_round_trips_and_is_cached() -> None:
    f = parse_keywords("Banjir,  LONGSOR -Hoaks banjir")
    assert str(f) == "banjir longsor -hoaks"  # normalised, duplicates dropped
    assert compiled(str(f)) == f and compiled(str(f)) is compiled(str(f))


def test_search_needs_every_word() -> None:
    words = word_set("Banjir rendam Tarakan")
    assert parse_keywords("banjir tarakan").matches_all(words)
    assert not parse_keywords("banjir nunukan").matches_all(words)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("banjir 🌊", Problem.BAD_WORD),
        ("🌊", Problem.BAD_WORD),
        ("...", Problem.BAD_WORD),
        ("!!! ???", Problem.BAD_WORD),
        ("ban.jir", Problem.BAD_WORD),
        ("b[a-z]+", Problem.BAD_WORD),  # never a regular expression
        ("a" * 31, Problem.BAD_WORD),
        ("banjir " * 72, Problem.TOO_LONG),  # 504 characters
        (" ".join(f"k{i}" for i in range(100)), Problem.TOO_MANY),
        (" ".join(f"k{i}" for i in range(MAX_KEYWORDS + 1)), Problem.TOO_MANY),
    ],
)
def test_bad_keywords_are_refused(text: str, problem: Problem) -> None:
    with pytest.raises(KeywordError) as caught:
        parse_keywords(text)
    assert caught.value.problem is problem


def test_twenty_keywords_are_allowed() -> None:
    assert len(parse_keywords(" ".join(f"k{i}" for i in range(MAX_KEYWORDS))).words) == 20


def indexes(**filters: dict[str, str]) -> dict[str, FilterIndex]:
    return {slug: FilterIndex.build(stored) for slug, stored in filters.items()}


def test_recipients_keep_unfiltered_and_matching_subscribers() -> None:
    members = {"kaltara": {"1", "2", "3", "6"}, "all": {"4", "5"}}
    filters = indexes(
        kaltara={"2": "banjir", "3": "pemilu", "6": "longsor -hoaks"}, all={"5": "-banjir"}
    )
    assert wanted(members, filters, word_set("Banjir di Sebatik")) == {"1", "2", "4"}
    assert wanted(members, filters, word_set("Harga naik")) == {"1", "4", "5"}
    assert wanted(members, filters, word_set("Longsor, bukan hoaks")) == {"1", "4", "5"}
    assert wanted(members, filters, word_set("Tanah longsor")) == {"1", "4", "5", "6"}
    # One of a chat's subscriptions that lets the post through is enough.
    members = {"kaltara": {"9"}, "all": {"9"}}
    assert wanted(members, indexes(kaltara={"9": "pemilu"}), word_set("Harga naik")) == {"9"}
    # A filter of a chat no longer subscribed sends it nothing.
    assert wanted({"kaltara": {"1"}}, indexes(kaltara={"7": "-x"}), word_set("x y")) == {"1"}


def test_the_index_agrees_with_each_filter_alone() -> None:
    rng = random.Random(3)
    vocabulary = ["banjir", "longsor", "pln", "harga", "jalan", "tarakan", "sekolah", "guru"]
    stored = {}
    for chat in range(300):
        picked = rng.sample(vocabulary, rng.randint(1, 4))
        stored[str(chat)] = " ".join(("-" + w) if rng.random() < 0.2 else w for w in picked)
    index = FilterIndex.build(stored)
    for _ in range(50):
        post = frozenset(rng.sample(vocabulary, rng.randint(0, 5)))
        alone = {chat for chat, words in stored.items() if compiled(words).matches(post)}
        assert index.passing(post) == alone


def wita(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 1, (hour - 8) % 24, minute, tzinfo=UTC)  # WITA is UTC+8


def test_quiet_hours_span_midnight_in_wita() -> None:
    assert [h for h in range(24) if is_quiet("22-6", wita(h))] == [0, 1, 2, 3, 4, 5, 22, 23]
    assert [h for h in range(24) if is_quiet("13-15", wita(h))] == [13, 14]
    assert is_quiet("22-6", wita(5, 59)) and not is_quiet("22-6", wita(6, 0))
    assert not is_quiet("", wita(23)) and not is_quiet("25-99", wita(23))


@pytest.mark.parametrize("text", ["25-99", "22", "-1-6", "6-6", "abc", "22-24", ""])
def test_bad_quiet_windows_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="window"):
        parse_window(text)
