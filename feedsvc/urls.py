"""The one check of an http(s) URL, used wherever a URL must be a web address.

Config keys, sources (config, CLI, OPML), parsed links, the JSON API's `link` and
the links the index page shows all ask `http_url`. The sanitiser's attribute
policy (sanitize.absolute_url) is a different rule: it also keeps mail links.
"""

from __future__ import annotations

from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")


def http_url(text: str) -> str | None:
    """`text` without surrounding spaces when it is an absolute http(s) URL with a host.

    Anything else (another scheme, a relative or host-less URL, a host with spaces,
    a URL Python cannot split such as an unclosed IPv6 literal) is None.
    """
    url = text.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. "http://[::1"
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not host or any(c.isspace() for c in host):
        return None
    return url
