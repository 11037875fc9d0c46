"""Parsers under arbitrary input (hypothesis) and over feedparser's own test corpus."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.ingest.parse import (
    Entry,
    ParseError,
    find_article_links,
    parse_article_page,
    parse_feed,
)
from tests.ingest.parsing import CORPUS, HTML, LISTING, SITE, UNSAFE, assert_safe

# --- hostile input ---

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PIECES = (
    "<rss>", "<item>", "<feed>", "<entry>", "<html>", "<p>", "</p>", "<a href='", "&amp;",
    "&nbsp;", "<![CDATA[", "]]>", "<?xml version='1.0'?>", "{", '"', "é", "\x00",
)  # fmt: skip
MARKUP = st.lists(st.sampled_from(PIECES) | st.text(max_size=10), max_size=40).map(
    lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
)


@FUZZ
@given(body=st.binary(max_size=2000) | MARKUP)
def test_parse_feed_raises_only_parse_error(body: bytes) -> None:
    try:
        feed = parse_feed(body, {"Content-Type": "text/xml"}, f"{SITE}/feed/")
    except ParseError as exc:
        assert "\n" not in str(exc)
    else:
        for entry in feed.entries:
            assert_safe(entry)


@FUZZ
@given(body=st.binary(max_size=2000) | MARKUP)
def test_html_functions_never_raise(body: bytes) -> None:
    entry = parse_article_page(body, HTML, f"{SITE}/judul/")
    assert entry is None or isinstance(entry, Entry)
    assert isinstance(find_article_links(body, HTML, LISTING), list)


# --- the feedparser corpus ---

HEADER_LINE = re.compile(rb"^\s*Header:\s*([\w-]+):\s*(.*?)\s*$", re.MULTILINE)


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.skip(f"feedparser corpus not found at ../shared/corpora/feedparser ({CORPUS})")
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md")


def served_headers(body: bytes) -> dict[str, str]:
    """The `Header:` lines of a corpus file's leading comment (PROVENANCE.md)."""
    return {k.decode(): v.decode("latin-1") for k, v in HEADER_LINE.findall(body[:4096])}


def parse_corpus_file(body: bytes) -> list[str]:
    """Problems with one document: anything but a ParsedFeed or a ParseError, unsafe output."""
    try:
        feed = parse_feed(body, served_headers(body), "http://example.com/feed.xml")
    except ParseError:
        return []
    problems = [f"unsafe title {feed.title!r}"] if UNSAFE.search(feed.title) else []
    for entry in feed.entries:
        for text in (entry.title, entry.summary, entry.content, entry.author, *entry.categories):
            if UNSAFE.search(text):
                problems.append(f"unsafe output {text[:120]!r}")
    return problems


def test_feedparser_corpus() -> None:
    files = corpus_files()
    assert len(files) > 2000
    problems = [
        f"{p.relative_to(CORPUS)}: {msg}"
        for p in files
        for msg in parse_corpus_file(p.read_bytes())
    ]
    assert problems == []


def test_feedparser_sanitize_corpus_with_identified_entries() -> None:
    # Most sanitize cases have entries with no id, link or title, which parse_feed
    # drops; give each one an id so its content goes all the way through.
    files = [p for p in corpus_files() if p.parent.name == "sanitize"]
    assert len(files) == 745
    checked = 0
    problems = []
    for path in files:
        body = re.sub(rb"(<entry\b[^>]*>)", rb"\1<id>urn:test:1</id>", path.read_bytes())
        body = re.sub(rb"(<item\b[^>]*>)", rb"\1<guid>urn:test:1</guid>", body)
        problems += [f"{path.name}: {msg}" for msg in parse_corpus_file(body)]
        checked += b"urn:test:1" in body
    assert checked > 550
    assert problems == []
