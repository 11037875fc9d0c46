"""HTML bytes -> an lxml tree, decoded the way a browser would.

libxml2 reads `<meta charset>` itself but falls back to Latin-1 and knows nothing of
the Content-Type header, so the charset is chosen here (byte order mark, then the
header, then a `<meta>` or XML declaration near the top, then UTF-8 when the bytes
are UTF-8, else windows-1252) and lxml is handed UTF-8. Bytes that are UTF-8 but
for a few broken sequences stay UTF-8, the broken bytes replaced: one bad byte
must not turn the whole page into mojibake.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

import lxml.html
from lxml import etree

PRESCAN_BYTES = 4096  # meta charset sits in the first few hundred bytes of real pages

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)""")
# What browsers actually use for these labels (the WHATWG Encoding Standard).
_BROWSER_ALIASES = {"ascii": "cp1252", "iso8859-1": "cp1252"}
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def looks_like_utf8(body: bytes) -> bool:
    """True when `body` is UTF-8, perhaps with a few broken sequences.

    Text in a legacy 8-bit encoding almost never forms valid multi-byte UTF-8
    sequences; UTF-8 with a stray bad byte forms many more of them than errors.
    """
    try:
        body.decode("utf-8")
        return True
    except UnicodeDecodeError:
        pass
    errors = body.decode("utf-8", "replace").count("\ufffd") - body.count(b"\xef\xbf\xbd")
    return len(_UTF8_SEQUENCE.findall(body)) > errors


def decode_html(body: bytes, headers: Mapping[str, str]) -> str:
    """The page's text; `headers` must have lower-case names."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, "replace")
    for label in (_header_charset(headers), _declared_charset(body)):
        text = _decode_as(body, label)
        if text is not None:
            return text
    if looks_like_utf8(body):
        return body.decode("utf-8", "replace")
    return body.decode("cp1252", "replace")


def parse_html(body: bytes, headers: Mapping[str, str]) -> lxml.html.HtmlElement | None:
    """The document's root element, or None when there is no document in the bytes."""
    text = decode_html(body, headers)
    if not text.strip():
        return None
    # A parser per call: ingest may parse pages in several threads at once.
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.LxmlError, ValueError):  # "Document is empty" and the like
        return None
    return root if isinstance(root, lxml.html.HtmlElement) else None


def _header_charset(headers: Mapping[str, str]) -> str:
    match = _HEADER_CHARSET.search(headers.get("content-type", ""))
    return match.group(1) if match else ""


def _declared_charset(body: bytes) -> str:
    head = body[:PRESCAN_BYTES]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii", "replace") if match else ""


def _decode_as(body: bytes, label: str) -> str | None:
    """`body` decoded as the charset `label` names, or None when Python has no such codec."""
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
        # A page whose bytes we could read the label from cannot be UTF-16/32.
        if name.startswith(("utf-16", "utf-32")):
            name = "utf-8"
        return body.decode(_BROWSER_ALIASES.get(name, name), "replace")
    except (LookupError, UnicodeError, ValueError):  # unknown, or "base64", "punycode"…
        return None
