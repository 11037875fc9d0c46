"""Rewrite every tests/data/feeds/NAME.expected.json from what parsing NAME gives now.

Run by hand after a deliberate change to parsing, then read `git diff tests/data/feeds`:

    .venv/bin/python -m tests.ingest.regenerate_feed_samples
"""

from __future__ import annotations

from tests.ingest.feed_samples import dump, expected_path, parsed, samples


def main() -> None:
    for sample in samples():
        path = expected_path(sample)
        text = dump(parsed(sample))
        changed = not path.exists() or path.read_text() != text
        path.write_text(text)
        print(f"{'changed' if changed else 'same   '} {path.name}")


if __name__ == "__main__":
    main()
