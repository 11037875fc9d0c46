from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import feedparser
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from feedsvc.ingest.sanitize import (
    absolute_url,
    clean_html,
    strip_control_chars,
)
from tests.fakes.site import SHARED

BASE = "https://www.jurnalkaltara.com/2025/09/berita/"
REL = 'rel="noopener noreferrer nofollow"'
CORPUS = SHARED / "corpora" / "feedparser"
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def unsafe_parts(html: str) -> list[str]:
    """What a browser could execute or be styled by in ``html``; empty when safe."""
    found = []
    if re.search(r"<(script|style|iframe|object|embed|svg|math|form)\b", html, re.I):
        found.append("forbidden tag")
    parser = _Tags()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        for name, value in attrs:
            if name.startswith("on") or name in {"style", "srcset", "formaction", "action"}:
                found.append(f"<{tag} {name}=>")
            if name in {"href", "src"}:
                scheme = urlsplit(value or "").scheme.lower()
                if scheme not in {"", "http", "https", "mailto"}:
                    found.append(f"<{tag} {name}={value!r}>")
    return found


# --- strip_control_chars ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("Berita Kaltara", "Berita Kaltara"),
        ("tab\there\nnew\r\nline", "tab\there\nnew\r\nline"),
        ("a\x00b\x01c\x08d\x0be\x0cf\x1fg", "abcdefg"),
        ("non\ufffechar\uffff", "nonchar"),
        ("lone \ud800 high \udfff low", "lone  high  low"),
        ("kept: \x7f \x85 \u00a0 é 😀", "kept: \x7f \x85 \u00a0 é 😀"),
    ],
)
def test_strip_control_chars(text: str, expected: str) -> None:
    assert strip_control_chars(text) == expected


# --- clean_html --------------------------------------------------------------------------

KEPT = [
    "<p>Teks <strong>tebal</strong>, <b>b</b>, <em>miring</em>, <i>i</i>, <u>u</u>, <s>s</s></p>",
    "<blockquote><p>Kutipan</p></blockquote><q>q</q><cite>c</cite>",
    '<ul><li>satu</li></ul><ol start="3"><li>tiga</li></ol><dl><dt>a</dt><dd>b</dd></dl>',
    "<h1>1</h1><h2>2</h2><h3>3</h3><h4>4</h4><h5>5</h5><h6>6</h6>",
    "<pre><code>x = 1</code></pre><hr><p>H<sub>2</sub>O x<sup>2</sup> <small>k</small></p>",
    '<div><span>s</span><abbr title="Pemerintah Provinsi">Pemprov</abbr></div>',
    '<p><time datetime="2025-09-25">Kamis</time><br>baris</p>',
    '<table><caption>c</caption><thead><tr><th scope="col">h</th></tr></thead>'
    '<tbody><tr><td colspan="2">d</td></tr></tbody><tfoot><tr><td>f</td></tr></tfoot></table>',
]


@pytest.mark.parametrize("html", KEPT)
def test_article_markup_is_kept(html: str) -> None:
    assert clean_html(html, BASE) == html


CLEANED = [
    # Scripts and styles go with their content; other unknown tags are unwrapped.
    ("<p>a<script>alert(1)</script>b</p>", "<p>ab</p>"),
    ("<style>p{color:red}</style><p>x</p>", "<p>x</p>"),
    ("<p>a<SCRIPT SRC=//evil/x.js></SCRIPT>b</p>", "<p>ab</p>"),
    ('<iframe src="https://youtube.com/embed/x">lihat video</iframe>ok', "ok"),
    ('<object data="x.swf"><embed src="x.swf"></object>ok', "ok"),
    ('<form action="/cari"><input name="q"><button>Cari</button></form>ok', "ok"),
    ('<svg onload="alert(1)"><text>t</text></svg><math><mi>x</mi></math>ok', "ok"),
    ('<noscript><img src="a.jpg"></noscript>ok', "ok"),
    ('<font color="red">merah</font> <center>tengah</center>', "merah tengah"),
    ("<p>a<!-- komentar -->b</p>", "<p>ab</p>"),
    # Attributes: no handlers, no style, class or id.
    (
        '<p onclick="x()" style="color:red" class="wp" id="p1">t</p>',
        "<p>t</p>",
    ),
    (
        '<img src="/a.jpg" onerror="alert(1)" alt="Foto">',
        '<img src="https://www.jurnalkaltara.com/a.jpg" alt="Foto">',
    ),
    # Unsafe URLs lose the attribute; an image left without src goes entirely.
    ('<a href="javascript:alert(1)">x</a>', f"<a {REL}>x</a>"),
    ('<a href=" JaVaScRiPt:alert(1)">x</a>', f"<a {REL}>x</a>"),
    ('<a href="java&#x09;script:alert(1)">x</a>', f"<a {REL}>x</a>"),
    ('<a href="vbscript:msgbox(1)">x</a>', f"<a {REL}>x</a>"),
    ('<a href="data:text/html,<script>alert(1)</script>">x</a>', f"<a {REL}>x</a>"),
    ('<img src="data:image/gif;base64,R0lGOD" alt="lazy">', ""),
    ('<img src="javascript:alert(1)">', ""),
    ("<p>a<img>b</p>", "<p>ab</p>"),
    # Links get rel, whatever rel they came with.
    (
        '<a href="https://kaltaraprov.go.id/" rel="author" target="_blank">P</a>',
        f'<a href="https://kaltaraprov.go.id/" {REL}>P</a>',
    ),
    (
        '<a href="mailto:redaksi@example.org">m</a>',
        f'<a href="mailto:redaksi@example.org" {REL}>m</a>',
    ),
    # srcset is dropped, src kept and made absolute.
    (
        '<img src="foto.jpg" srcset="foto-2x.jpg 2x" width="600" height="400">',
        f'<img src="{BASE}foto.jpg" width="600" height="400">',
    ),
    # Control characters never reach the output.
    ("<p>a\x00b\x0bc\ufffe\ud800</p>", "<p>abc</p>"),
]


@pytest.mark.parametrize(("html", "expected"), CLEANED)
def test_clean_html(html: str, expected: str) -> None:
    assert clean_html(html, BASE) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/tag/kaltara/", "https://www.jurnalkaltara.com/tag/kaltara/"),
        ("foto.jpg", BASE + "foto.jpg"),
        ("../../08/lama/", "https://www.jurnalkaltara.com/2025/08/lama/"),
        ("?p=12", BASE + "?p=12"),
        ("#komentar", BASE + "#komentar"),
        ("//cdn.example.org/a.jpg", "https://cdn.example.org/a.jpg"),
        ("  https://example.org/a  ", "https://example.org/a"),
        ("http://example.org/a", "http://example.org/a"),
        (
            "/wp-content/uploads/foto 1.jpg",
            "https://www.jurnalkaltara.com/wp-content/uploads/foto%201.jpg",
        ),
        ('/cari?q="x"<y>', "https://www.jurnalkaltara.com/cari?q=%22x%22%3Cy%3E"),
        ("/berita/pemprov-kaltara-ñ", "https://www.jurnalkaltara.com/berita/pemprov-kaltara-ñ"),
        ("mailto:a@example.org", "mailto:a@example.org"),
        ("javascript:alert(1)", None),
        ("JAVASCRIPT:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("java\nscript:alert(1)", None),
        ("/a\tb\nc", "https://www.jurnalkaltara.com/abc"),
        ("foo:bar", None),
        ("vbscript:x", None),
        ("data:image/png;base64,AAAA", None),
        ("ftp://example.org/x", None),
        ("http://[::1", None),
        # Hosts a browser would refuse: dropped, not turned into a link to nowhere.
        ("//<script", None),
        ("//a b.example/x", None),
        ("https://example.org:99999/", None),
        ("//[::1]/x", "https://[::1]/x"),
        ("", None),
        ("   ", None),
    ],
)
def test_absolute_url(url: str, expected: str | None) -> None:
    assert absolute_url(url, BASE) == expected


def test_absolute_url_in_markup() -> None:
    html = '<a href="/a">a</a><img src="//cdn.example.org/b.jpg">'
    assert clean_html(html, BASE) == (
        f'<a href="https://www.jurnalkaltara.com/a" {REL}>a</a>'
        '<img src="https://cdn.example.org/b.jpg">'
    )


def test_without_a_base_relative_urls_stay_relative() -> None:
    assert clean_html('<a href="/a">a</a>', "") == f'<a href="/a" {REL}>a</a>'
    assert clean_html('<a href="javascript:x">a</a>', "") == f"<a {REL}>a</a>"


def test_seed_article_like_markup() -> None:
    html = (
        '<div class="entry-content"><p><strong>TANJUNG SELOR</strong> – Bappeda dan Litbang '
        "Kaltara memperkuat sinergi pembangunan.</p>"
        '<figure class="wp-block-image"><img src="/wp-content/uploads/2025/09/foto.jpg" '
        'alt="Bertius" loading="lazy" decoding="async"><figcaption>Bertius</figcaption></figure>'
        '<div class="sharedaddy"><script>share()</script><button>Bagikan</button></div></div>'
    )
    assert clean_html(html, BASE) == (
        "<div><p><strong>TANJUNG SELOR</strong> – Bappeda dan Litbang Kaltara memperkuat "
        "sinergi pembangunan.</p><figure><img "
        'src="https://www.jurnalkaltara.com/wp-content/uploads/2025/09/foto.jpg" alt="Bertius">'
        "<figcaption>Bertius</figcaption></figure><div></div></div>"
    )


HTML_BITS = st.sampled_from(
    [
        "<", ">", "/", "=", '"', "'", " ", "\x00", "\t", "&", "#", ";", "x", "<!--", "-->",
        "<script>", "</script>", "<SCRIPT", "<style>", "<iframe", "<object", "<embed", "<svg",
        "<a href=", "<img src=", "<p ", "<math", "<form action=", "<noscript>", "<![CDATA[",
        "javascript:", "JaVaScRiPt:", "vbscript:", "data:", "java&#x09;script:", "&#106;",
        "onclick=", "onerror=", "ONLOAD=", "style=", "srcset=", "//", "alert(1)", "`", "\ud800",
    ]
)  # fmt: skip
HTML_LIKE = st.lists(HTML_BITS | st.text(max_size=4), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), HTML_LIKE))
def test_clean_html_output_is_always_safe(html: str) -> None:
    out = clean_html(html, BASE)
    assert "<script" not in out.lower()
    assert unsafe_parts(out) == []
    assert not XML_FORBIDDEN.search(out)


@settings(max_examples=100, deadline=None)
@given(HTML_LIKE)
@example("<a href=//<script>")
def test_clean_html_is_idempotent(html: str) -> None:
    once = clean_html(html, BASE)
    assert clean_html(once, BASE) == once


# --- the feedparser sanitizer corpus ----------------------------------------------------


def _corpus_html(parsed: feedparser.FeedParserDict) -> list[tuple[str, str]]:
    """(html, base URL) for every HTML-bearing field of a parsed feed."""
    feed = parsed.feed
    fields = [
        (feed.get(key, ""), feed.get("link", "")) for key in ("title", "subtitle", "rights", "info")
    ]
    for entry in parsed.entries:
        base = entry.get("link", "")
        fields += [(c.get("value", ""), c.get("base") or base) for c in entry.get("content", [])]
        fields += [(entry.get(key, ""), base) for key in ("summary", "title")]
    return [(html, base or "https://example.org/feed/") for html, base in fields if html]


def test_feedparser_sanitize_corpus_comes_out_clean() -> None:
    folder = CORPUS / "wellformed" / "sanitize"
    if not folder.is_dir():
        pytest.skip(f"feedparser corpus not found at ../shared/corpora/feedparser ({folder})")
    dangerous_inputs = 0
    failures = []
    for path in sorted(folder.glob("*.xml")):
        # feedparser's own sanitizer is off, so clean_html is the only line of defence.
        parsed = feedparser.parse(path.read_bytes(), sanitize_html=False)
        for html, base in _corpus_html(parsed):
            dangerous_inputs += bool(unsafe_parts(html) or re.search(r"javascript:", html, re.I))
            out = clean_html(html, base)
            problems = unsafe_parts(out)
            if "<script" in out.lower() or problems or XML_FORBIDDEN.search(out):
                failures.append(f"{path.name}: {html[:80]!r} -> {out[:80]!r} {problems}")
    assert dangerous_inputs > 300, "the corpus no longer exercises the sanitizer"
    assert failures == []
