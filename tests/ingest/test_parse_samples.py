"""Each feed sample parses to exactly its expectation (tests/ingest/feed_samples.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.ingest.feed_samples import expected_path, parsed, samples

UNSAFE = re.compile(r"<script|<iframe|\son[a-z]+\s*=|javascript:", re.IGNORECASE)


def test_there_are_samples_and_each_has_its_expectation() -> None:
    assert len(samples()) >= 7
    assert all(expected_path(s).is_file() for s in samples())


@pytest.mark.parametrize("sample", samples(), ids=lambda p: p.name)
def test_a_sample_parses_to_its_expectation(sample: Path) -> None:
    expected = json.loads(expected_path(sample).read_text())
    got = parsed(sample)
    assert got == expected, "regenerate with: python -m tests.ingest.regenerate_feed_samples"
    for entry in got["entries"]:  # whatever the expectation says, nothing unsafe is kept
        assert not UNSAFE.search(entry["content"]), entry["content"]
