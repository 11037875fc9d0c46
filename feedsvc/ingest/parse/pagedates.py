"""An article page's dates: publication and modification, best source first.

The page's structured data (meta tags, JSON-LD, <time> markup), then a printed date
line by the title ("Kamis, 25 September 2025 10:00 WITA"), then htmldate, then a
relative age ("10 jam lalu"). A date without a zone is the site's local date: the
zone of the page's other dates, else the source's zone (WITA); it is never moved to
another calendar day. Times keep the zone they were read in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import htmldate
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from feedsvc.dates import is_indonesian_date, parse_local_date
from feedsvc.ingest.parse.layout import css, in_furniture, norm, remove
from feedsvc.ingest.parse.metadata import ld_value

log = logging.getLogger("feedsvc.ingest.parse.article")  # the logger name operators know

_PUBLISHED = css("time.published, time.entry-date, [itemprop=datePublished]")
_MODIFIED = css("time.updated, [itemprop=dateModified]")
_ANY_TIME = css("time[datetime]")
_AGE_WORD = re.compile(r"\b(?:lalu|ago)\b", re.IGNORECASE)
MAX_DATE_LINE = 120
MAX_AGE_LINE = 60
HTMLDATE_MIN = "1995-01-01"
_UNSTATED = timezone(timedelta(0), "unstated")  # marks date text that names no zone


class PageDates:
    """The page's publication and modification dates, best source first."""

    def __init__(
        self,
        meta: dict[str, list[str]],
        ld: list[dict[str, Any]],
        region: HtmlElement,
        raw: Callable[[], HtmlElement | None],
        url: str,
        now: datetime | None,
        zone: tzinfo,
        lines: list[str],
    ) -> None:
        """`lines` are the page's printed lines around the title, a dateline first;
        `raw` gives the page as it came, before teasers were taken off it."""
        self.meta, self.ld, self.region, self.raw, self.url = meta, ld, region, raw, url
        self.now, self.lines = now, lines
        stated = [*self._published_data(), *self._modified_data(), *self._local_lines()]
        self.zone = _site_zone(stated, now) or zone

    def _published_data(self) -> list[object]:
        return [
            *self.meta.get("article:published_time", ()),
            *self.meta.get("datepublished", ()),
            *self.meta.get("publishdate", ()),
            ld_value(self.ld, "datePublished"),
            *_time_values(self._in_region(_PUBLISHED)),
        ]

    def _modified_data(self) -> list[object]:
        return [
            *self.meta.get("article:modified_time", ()),
            *self.meta.get("og:updated_time", ()),
            ld_value(self.ld, "dateModified"),
            *_time_values(self._in_region(_MODIFIED)),
        ]

    def _in_region(self, selector: CSSSelector) -> Iterator[HtmlElement]:
        return (e for e in selector(self.region) if not in_furniture(e, self.region))

    def _printed(self) -> list[str]:
        return [
            line
            for line in self.lines
            if line and len(line) <= MAX_DATE_LINE and not _AGE_WORD.search(line)
        ]

    def _local_lines(self) -> list[str]:
        # htmldate knows no Indonesian month or zone names: these go before it.
        return [line for line in self._printed() if is_indonesian_date(line)]

    def published(self) -> datetime | None:
        markup = [*self._published_data(), *_time_values(self._in_region(_ANY_TIME))]
        # A relative age ("10 jam lalu") only when nothing gives the date itself.
        ages = [line for line in self.lines if len(line) <= MAX_AGE_LINE and _AGE_WORD.search(line)]
        return (
            self._first(markup)
            or self._first(self._local_lines())
            or self._htmldate()
            or self._first(ages)
            or self._first(self._printed())
        )

    def modified(self) -> datetime | None:
        return self._first(self._modified_data())

    def _first(self, candidates: Iterable[object]) -> datetime | None:
        for text in candidates:
            if isinstance(text, str):
                found = parse_local_date(text, now=self.now, zone=self.zone)
                if found is not None:
                    return found
        return None

    def _htmldate(self) -> datetime | None:
        """htmldate's reading of the page: a calendar day, midnight on the site's clock.

        Its markup and URL rules first; its search of the page's text only when they
        find nothing, and then not its last resort, January 1st of a copyright year.
        """
        page = self.raw()
        if page is None:
            return None
        latest = (self.now or datetime.now(self.zone)).astimezone(self.zone) + timedelta(days=1)
        for extensive in (False, True):
            day = self._find_date(page, extensive, latest.strftime("%Y-%m-%d"))
            if day is not None and not (extensive and (day.month, day.day) == (1, 1)):
                return day
        return None

    def _find_date(self, page: HtmlElement, extensive: bool, latest: str) -> datetime | None:
        try:
            day = htmldate.find_date(
                page,
                extensive_search=extensive,
                original_date=True,
                url=self.url,
                min_date=HTMLDATE_MIN,
                max_date=latest,
            )
            return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=self.zone) if day else None
        except (ValueError, TypeError, etree.LxmlError) as exc:
            log.debug("htmldate failed on %s: %s", self.url, exc)
            return None


def _site_zone(candidates: Iterable[object], now: datetime | None) -> tzinfo | None:
    """The zone the page's own dates state ("+07:00", "WIB"), when one states a local one."""
    for text in candidates:
        found = parse_local_date(text, now=now, zone=_UNSTATED) if isinstance(text, str) else None
        # +00:00 is how many sites store times, not their clock.
        if found is not None and found.tzinfo is not _UNSTATED and found.utcoffset():
            return found.tzinfo

    return None


def _time_values(elements: Iterable[HtmlElement]) -> Iterator[str]:
    for element in elements:
        yield element.get("datetime") or element.get("content") or element.text_content()


def take_dateline(body: HtmlElement, title: str) -> str:
    """What opens the body before its text: the title again, a date line.

    Both are taken out; a date line ("Kamis, 25/9/2025 10:00 WITA", "10 jam lalu")
    is returned.
    """
    first = next((child for child in body if isinstance(child.tag, str)), None)
    leading = (body.text or "").strip()
    is_title = first is not None and first.tag in ("h1", "h2") and not leading
    if first is not None and is_title and norm(first.text_content()) == norm(title):
        leading = (first.tail or "").strip()
        remove(first)
        first = next((child for child in body if isinstance(child.tag, str)), None)
    if leading:
        if _is_dateline(leading):
            body.text = ""
            return leading
        return ""
    if first is None or first.tag != "p":
        return ""
    text = norm(first.text_content())
    if not _is_dateline(text):
        return ""
    remove(first)
    return text


def _is_dateline(text: str) -> bool:
    text = norm(text)
    if _AGE_WORD.search(text):
        return len(text) <= MAX_AGE_LINE and parse_local_date(text) is not None
    # A dateline states a time or a zone; a bare date may be body text.
    return (
        len(text) <= MAX_DATE_LINE
        and bool(re.search(r"\d{1,2}[:.]\d{2}|\b(?:WITA|WIB|WIT)\b", text))
        and parse_local_date(text) is not None
    )
