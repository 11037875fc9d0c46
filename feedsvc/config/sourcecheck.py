"""The one check of a source definition, shared by the config file, the CLI and OPML.

Each caller says how a mistake reads: `fail(field, why)` gets the field's name
("url") and a reason that follows it ("must be an http(s) URL, got 'x'"); the
config file prefixes `sources[2].`, the CLI and OPML `source 'name': `.
"""

from __future__ import annotations

import typing

from feedsvc.config.errors import SOURCE_KINDS, SOURCE_NAME
from feedsvc.models import slugify
from feedsvc.urls import http_url

FieldFail = typing.Callable[[str, str], typing.NoReturn]


def check_source_fields(
    name: str,
    url: str,
    kind: str,
    interval: float | None,
    category: str,
    fail: FieldFail,
    *,
    full_content: bool = False,
) -> None:
    """Name, URL, kind, interval (None: the default), category and full_content."""
    if not SOURCE_NAME.match(name):
        fail("name", "must be 1-64 letters, digits, '.', '_' or '-'")
    if http_url(url) is None:
        fail("url", f"must be an http(s) URL, got {url!r}")
    if kind not in SOURCE_KINDS:
        fail("kind", f"must be one of {', '.join(SOURCE_KINDS)}, got {kind!r}")
    if interval is not None and not 0 < interval < float("inf"):
        fail("interval", "must be a positive number of seconds")
    if category:
        check_category(category, lambda why: fail("category", why))
    if not isinstance(full_content, bool):
        fail("full_content", f"must be true or false, got {full_content!r}")
    if full_content and kind != "feed":
        # An html source reads every article page already.
        fail("full_content", 'only applies to kind = "feed"')


def check_category(name: str, fail: typing.Callable[[str], typing.NoReturn]) -> None:
    """A category name must make a slug (models.slugify): letters or digits, not reserved."""
    try:
        slugify(name)
    except ValueError as exc:
        fail(f"is not a usable category: {exc}")
