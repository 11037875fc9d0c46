"""Feed samples paired with what parsing them gives: tests/data/feeds/NAME.xml (RSS or
Atom) or NAME.json (JSON Feed), and NAME.expected.json beside it.

The expectation is the whole `ParsedFeed`, every entry field, as JSON; the test
compares it whole. After a deliberate change to parsing, regenerate them all with

    .venv/bin/python -m tests.ingest.regenerate_feed_samples

and read the diff: it is the change in behaviour, sample by sample.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedsvc.ingest.parse import ParsedFeed, parse_feed

FEEDS = Path(__file__).resolve().parents[1] / "data" / "feeds"
NOW = datetime(2025, 9, 26, 0, 0, tzinfo=UTC)  # when the samples are parsed
EXPECTED = ".expected.json"


def samples() -> list[Path]:
    """Every sample document, by name."""
    found = [*FEEDS.glob("*.xml"), *FEEDS.glob("*.json")]
    return sorted(p for p in found if not p.name.endswith(EXPECTED))


def expected_path(sample: Path) -> Path:
    return sample.with_name(sample.stem + EXPECTED)


def sample_url(sample: Path) -> str:
    """Where the sample is served from: relative links resolve against it."""
    return f"https://feeds.example/{sample.name}"


def parsed(sample: Path) -> dict[str, Any]:
    """What parsing the sample gives, as plain JSON values."""
    feed = parse_feed(sample.read_bytes(), {}, sample_url(sample), now=NOW)
    return as_json(feed)


def as_json(feed: ParsedFeed) -> dict[str, Any]:
    def value(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, tuple | list):
            return [value(x) for x in v]
        return v

    out = {f.name: value(getattr(feed, f.name)) for f in dataclasses.fields(feed)}
    out["entries"] = [
        {f.name: value(getattr(e, f.name)) for f in dataclasses.fields(e)} for e in feed.entries
    ]
    return out


def dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
