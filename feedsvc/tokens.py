"""Constant-time checks of secrets a client sends in a header."""

from __future__ import annotations

import hmac
from collections.abc import Iterable


def header_bytes(value: str) -> bytes:
    """A header value as the bytes that arrived.

    aiohttp decodes header bytes that are not UTF-8 as surrogate escapes; a plain
    `.encode()` of such a value raises, so a token with one stray byte would be a 500.
    """
    return value.encode("utf-8", "surrogateescape")


def token_matches(given: str, allowed: Iterable[str]) -> bool:
    """Whether `given` is one of `allowed`, comparing every one in constant time."""
    given_bytes = header_bytes(given)
    ok = False
    for token in allowed:
        ok |= hmac.compare_digest(given_bytes, token.encode())
    return ok
