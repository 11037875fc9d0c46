"""The one http(s) URL check and the one source check, as every caller sees them."""

from __future__ import annotations

import pytest

from feedsvc.config import ConfigError, load_settings
from feedsvc.ingest.parse.entry import web_url
from feedsvc.ingest.sources import SourceError, check_source
from feedsvc.models import Source
from feedsvc.urls import http_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://x.id", "http://x.id"),
        (" https://x.id/a b ", "https://x.id/a b"),  # spaces in a path stay a feed's business
        ("HTTPS://X.id/", "HTTPS://X.id/"),
        ("https://user@x.id:8443/p?q#f", "https://user@x.id:8443/p?q#f"),
        ("http://", None),
        ("http://:80/", None),
        ("http://a b/", None),
        ("http://[::1", None),
        ("ftp://x.id/feed", None),
        ("mailto:redaksi@x.id", None),
        ("javascript:alert(1)", None),
        ("//x.id/a", None),
        ("/a", None),
        ("", None),
    ],
)
def test_http_url(text: str, expected: str | None) -> None:
    assert http_url(text) == expected


def test_parsed_links_use_the_same_check_after_resolving() -> None:
    assert web_url("/berita/1", "https://x.id/feed/") == "https://x.id/berita/1"
    assert web_url("http://a b/", "https://x.id/") == ""
    assert web_url("javascript:alert(1)", "https://x.id/") == ""


BAD_SOURCES = [
    ({"name": "a b"}, "name", "must be 1-64 letters"),
    ({"url": "ftp://x.id/feed"}, "url", "must be an http(s) URL, got 'ftp://x.id/feed'"),
    ({"url": "http://"}, "url", "must be an http(s) URL"),
    ({"kind": "rss"}, "kind", "must be one of feed, html, got 'rss'"),
    ({"interval": 0}, "interval", "must be a positive number of seconds"),
    ({"category": "all"}, "category", "is not a usable category"),
]


@pytest.mark.parametrize(("change", "field", "why"), BAD_SOURCES)
def test_config_and_cli_reject_a_source_with_one_reason(
    change: dict, field: str, why: str, tmp_path
) -> None:
    fields = {"name": "a", "url": "https://x.id/feed/", "kind": "feed", "interval": 60} | change
    with pytest.raises(SourceError) as cli:
        check_source(Source(**fields))
    assert str(cli.value).startswith(f"source {fields['name']!r}: {field} {why}")
    with pytest.raises(SourceError) as opml:
        check_source(Source(**fields), prefix="")
    assert str(opml.value).startswith(f"{field} {why}")
    path = tmp_path / "config.toml"
    toml = "\n".join(f"{k} = {v!r}" for k, v in fields.items()).replace("'", '"')
    path.write_text(f"[[sources]]\n{toml}\n")
    with pytest.raises(ConfigError) as config:
        load_settings(str(path), env={})
    assert f"'sources[0].{field}' {why}" in str(config.value)
