"""Article extraction benchmark: feedsvc's page reader next to trafilatura alone, same run.

    .venv/bin/python bench/extract.py --bodies DIR --titles DIR --dates DIR [--limit N]

Fetches nothing. Each DIR is a checkout of a public benchmark (docs/BENCHMARKS.md
says where to get them):

- ``--bodies``: scrapinghub/article-extraction-benchmark (``ground-truth.json``,
  ``html/*.html.gz``); scored with its own metric, F1 over 4-gram shingles of the
  article body, precision and recall averaged over pages.
- ``--titles``: trafilatura's repository (``tests/evaldata.json``, ``tests/eval``,
  ``tests/cache``); a title is right when it equals the annotated one after
  normalisation (Unicode NFKC, case, quotes and dashes, spaces, end punctuation).
- ``--dates``: htmldate's repository (``tests/eval_mediacloud_2020.json``, its
  ``tests/test_set``); a date is right when its calendar day is the annotated one
  (feedsvc's as the page wrote it, in the page's own zone).

Each page is read by both from its bytes, one after the other, on one core; the
time is wall-clock per page for the whole reading (body and metadata). Prints
Markdown tables for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import htmldate
import lxml
import trafilatura

from feedsvc.ingest.parse import parse_article_page
from feedsvc.ingest.sanitize import html_to_text

HEADERS = {"Content-Type": "text/html"}
NOW = datetime.now(UTC)
WORDPRESS = re.compile(rb"wp-content|wp-includes|content=\"WordPress", re.IGNORECASE)
_TOKEN = re.compile(r"\w+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'"})
_DASHES = re.compile(r"[‐‑‒–—―]")


@dataclass
class Reading:
    body: str = ""
    title: str = ""
    date: str = ""  # YYYY-MM-DD
    seconds: float = 0.0


@dataclass
class Tally:
    """One extractor's results over one set."""

    seconds: list[float] = field(default_factory=list)
    scores: list[tuple[float, float, float]] = field(default_factory=list)  # tp, fp, fn
    wordpress: list[tuple[float, float, float]] = field(default_factory=list)
    right: int = 0
    missing: int = 0
    total: int = 0


def read_feedsvc(html: bytes, url: str) -> Reading:
    started = time.perf_counter()
    entry = parse_article_page(html, HEADERS, url, now=NOW)
    seconds = time.perf_counter() - started
    if entry is None:
        return Reading(seconds=seconds)
    day = entry.published.date().isoformat() if entry.published else ""
    return Reading(html_to_text(entry.content), entry.title, day, seconds)


def read_trafilatura(html: bytes, url: str) -> Reading:
    started = time.perf_counter()
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    seconds = time.perf_counter() - started
    if doc is None:
        return Reading(seconds=seconds)
    return Reading(doc.text or "", doc.title or "", (doc.date or "")[:10], seconds)


READERS: dict[str, Callable[[bytes, str], Reading]] = {
    "feedsvc": read_feedsvc,
    "trafilatura": read_trafilatura,
}


# --- the benchmarks' metrics -------------------------------------------------------------


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text)
    if len(tokens) < n:
        return Counter([tuple(tokens)] if tokens else [])
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def shingle_counts(truth: str, found: str) -> tuple[float, float, float]:
    """True positives, false positives, false negatives, normalised to sum to 1."""
    want, got = shingles(truth), shingles(found)
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def page_f1(counts: tuple[float, float, float]) -> float:
    tp, fp, fn = counts
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def f1(pages: list[tuple[float, float, float]]) -> float:
    """The benchmark's F1: from precision and recall each averaged over pages."""
    precisions = [_share(tp, fp, fn) for tp, fp, fn in pages if tp + fp > 0]
    recalls = [_share(tp, fn, fp) for tp, fp, fn in pages if tp + fn > 0]
    p, r = statistics.mean(precisions or [0.0]), statistics.mean(recalls or [0.0])
    return 2 * p * r / (p + r) if p + r else 0.0


def _share(tp: float, wrong: float, other_wrong: float) -> float:
    """Precision (wrong = fp) or recall (wrong = fn); a perfect page counts 1."""
    if wrong == other_wrong == 0:
        return 1.0
    return tp / (tp + wrong) if tp + wrong else 0.0


def normal_title(text: str) -> str:
    text = _DASHES.sub("-", unicodedata.normalize("NFKC", text).translate(_QUOTES))
    return " ".join(text.casefold().split()).strip(" .,:;!?-|\"'")


# --- the sets --------------------------------------------------------------------------


def body_pages(root: Path) -> Iterator[tuple[str, bytes, str]]:
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    for key in sorted(truth):
        html = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes())
        yield truth[key].get("url") or "", html, truth[key].get("articleBody") or ""


def title_pages(root: Path) -> Iterator[tuple[str, bytes, str]]:
    tests = root / "tests"
    truth = json.loads((tests / "evaldata.json").read_text(encoding="utf-8"))
    for url in sorted(truth):
        item = truth[url]
        path = _first_file(tests, item["file"], ("cache", "eval"))
        if item.get("title") and path is not None:
            yield url, path.read_bytes(), item["title"]


def date_pages(root: Path) -> Iterator[tuple[str, bytes, str]]:
    tests = root / "tests"
    truth = json.loads((tests / "eval_mediacloud_2020.json").read_text(encoding="utf-8"))
    for url in sorted(truth):
        item = truth[url]
        path = _first_file(tests, item["file"], ("test_set", "cache", "eval"))
        # A few pages have no annotated date (NaN in the JSON): not counted.
        if isinstance(item.get("date"), str) and path is not None:
            yield url, path.read_bytes(), item["date"]


def _first_file(root: Path, name: str, folders: tuple[str, ...]) -> Path | None:
    return next((root / d / name for d in folders if (root / d / name).is_file()), None)


# --- running ---------------------------------------------------------------------------


Details = list[dict[str, object]]


def run_set(
    kind: str,
    pages: Iterator[tuple[str, bytes, str]],
    readers: dict[str, Callable[[bytes, str], Reading]],
    limit: int | None,
    details: Details,
) -> dict[str, Tally]:
    """Every page of one set read by every reader; `kind` is "body", "title" or "date"."""
    tallies = {name: Tally() for name in READERS}
    for n, (url, html, truth) in enumerate(pages):
        if limit is not None and n >= limit:
            break
        for name, read in readers.items():
            reading = read(html, url)
            tally = tallies[name]
            tally.seconds.append(reading.seconds)
            tally.total += 1
            record: dict[str, object] = {"set": kind, "reader": name, "url": url}
            if kind == "body":
                counts = shingle_counts(truth, reading.body)
                tally.scores.append(counts)
                if WORDPRESS.search(html):
                    tally.wordpress.append(counts)
                record["f1"] = round(page_f1(counts), 3)
            elif kind == "title":
                tally.missing += not reading.title
                tally.right += normal_title(reading.title) == normal_title(truth)
                record.update(found=reading.title, truth=truth)
            else:
                tally.missing += not reading.date
                tally.right += reading.date == truth[:10]
                record.update(found=reading.date, truth=truth[:10])
            record["ms"] = round(reading.seconds * 1000, 1)
            details.append(record)
    return tallies


def report(bodies: dict[str, Tally], titles: dict[str, Tally], dates: dict[str, Tally]) -> str:
    f, t = bodies["feedsvc"], bodies["trafilatura"]
    lines = [
        f"Run of {datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, Python "
        f"{platform.python_version()}, trafilatura {trafilatura.__version__}, "
        f"htmldate {htmldate.__version__}, lxml {lxml.__version__})",
        "",
        "| measure (set, pages) | feedsvc | trafilatura alone | ratio |",
        "|---|---:|---:|---:|",
    ]

    def row(label: str, ours: float, theirs: float, fmt: str = "{:.3f}") -> None:
        ratio = f"{ours / theirs:.2f}" if theirs else "–"
        lines.append(f"| {label} | {fmt.format(ours)} | {fmt.format(theirs)} | {ratio} |")

    if f.total:
        row(f"body F1 (scrapinghub, {f.total})", f1(f.scores), f1(t.scores))
        row(f"body F1, WordPress-shaped ({len(f.wordpress)})", f1(f.wordpress), f1(t.wordpress))
        low_f = sum(page_f1(c) < 0.5 for c in f.scores)
        low_t = sum(page_f1(c) < 0.5 for c in t.scores)
        row(f"pages with body F1 < 0.5 ({f.total})", low_f, low_t, "{:.0f}")
    if titles["feedsvc"].total:
        ft, tt = titles["feedsvc"], titles["trafilatura"]
        row(f"title right (trafilatura evaldata, {ft.total})", ft.right / ft.total,
            tt.right / max(tt.total, 1))  # fmt: skip
    if dates["feedsvc"].total:
        fd, td = dates["feedsvc"], dates["trafilatura"]
        row(f"date on the right day (htmldate MediaCloud 2020, {fd.total})",
            fd.right / fd.total, td.right / max(td.total, 1))  # fmt: skip
        row(f"no date found ({fd.total})", fd.missing, td.missing, "{:.0f}")
    sets = (bodies, titles, dates)
    every = {name: [s for tallies in sets for s in tallies[name].seconds] for name in READERS}
    ours, theirs = every["feedsvc"] or [0.0], every["trafilatura"] or [0.0]
    row(f"median time per page, all sets ({len(ours)})", statistics.median(ours) * 1000,
        statistics.median(theirs) * 1000, "{:.1f} ms")  # fmt: skip
    row("slowest page", max(ours) * 1000, max(theirs) * 1000, "{:.0f} ms")
    row("pages over 1 s", sum(s > 1 for s in ours), sum(s > 1 for s in theirs), "{:.0f}")
    return "\n".join(lines)


def warm_up() -> None:
    """Load what trafilatura loads on first use, before any page is timed.

    Its fallback reads every justext stoplist on the first page that needs it (about
    a second): a cost of the process, charged otherwise to whichever reader and page
    come first.
    """
    from trafilatura import external

    if not external.JT_STOPLIST:
        external.jt_stoplist_init()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bodies", type=Path, help="scrapinghub/article-extraction-benchmark")
    parser.add_argument("--titles", type=Path, help="trafilatura's repository (its tests/)")
    parser.add_argument("--dates", type=Path, help="htmldate's repository (tests/)")
    parser.add_argument("--limit", type=int, help="at most this many pages of each set")
    parser.add_argument(
        "--readers", default=",".join(READERS), help="comma-separated: feedsvc,trafilatura"
    )
    parser.add_argument("--details", type=Path, help="write one JSON line per page and reader")
    args = parser.parse_args()
    if not (args.bodies or args.titles or args.dates):
        parser.error("give at least one of --bodies, --titles, --dates")
    readers = {name: READERS[name] for name in args.readers.split(",")}
    warm_up()
    details: Details = []
    empty: dict[str, Tally] = {name: Tally() for name in READERS}
    sets = {"body": (args.bodies, body_pages), "title": (args.titles, title_pages),
            "date": (args.dates, date_pages)}  # fmt: skip
    tallies = {
        kind: run_set(kind, pages(root), readers, args.limit, details) if root else empty
        for kind, (root, pages) in sets.items()
    }
    print(report(tallies["body"], tallies["title"], tallies["date"]))
    if args.details:
        args.details.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
