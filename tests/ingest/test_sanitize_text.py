"""Plain text out of markup: html_to_text, clean_text and summarize."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc.ingest.sanitize import (
    clean_text,
    html_to_text,
    summarize,
)
from tests.ingest.test_sanitize import HTML_LIKE, XML_FORBIDDEN

# --- html_to_text and clean_text -------------------------------------------------------

TEXT = [
    ("", ""),
    ("plain", "plain"),
    ("<p>Satu&nbsp;dua</p><p>tiga<br>empat</p>", "Satu dua\n\ntiga\nempat"),
    ("<p>a</p>\n\n\n<p>b</p>", "a\n\nb"),
    ("<ul><li>a</li><li>b</li></ul><p>c</p>", "a\nb\n\nc"),
    ("<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>", "1 2\n3"),
    ("<h2>Judul</h2>isi", "Judul\n\nisi"),
    ("a<script>var x = '<p>';</script>b<style>p{}</style>c", "abc"),
    ("<b>te</b><i>bal</i>  dan\n\tmiring", "tebal dan miring"),
    ("Tom &amp; Jerry &lt;3 &quot;x&quot; &#8211; &eacute;", 'Tom & Jerry <3 "x" – é'),
    ("&amp;amp;", "&amp;"),
    ("a < b > c", "a < b > c"),
    ("<", "<"),
    ("<!-- hanya komentar -->", ""),
    ("<![CDATA[x]]>", ""),
    ("<?php echo 1; ?>ok", "ok"),
    ("<p\n", ""),
    ("x\x00y\x0b\ufffe\ud800", "xy"),
]


@pytest.mark.parametrize(("html", "expected"), TEXT)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200), HTML_LIKE, st.binary(max_size=100).map(lambda b: b.decode("latin-1"))
    )
)
def test_html_to_text_never_raises(html: str) -> None:
    text = html_to_text(html)
    assert not XML_FORBIDDEN.search(text)
    assert text == text.strip()
    assert "\n\n\n" not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Pemprov   Kaltara\n Dampingi  ", "Pemprov Kaltara Dampingi"),
        ("<b>Bulungan</b> Genjot <em>PAD</em>", "Bulungan Genjot PAD"),
        ("Sinergi Adat &amp; Pembangunan", "Sinergi Adat & Pembangunan"),
        ("Tom &amp;amp; Jerry", "Tom &amp; Jerry"),
        ("Harga naik &lt;5%", "Harga naik <5%"),
        ("Harga naik <5%", "Harga naik <5%"),
        ("<p>Dua</p><p>paragraf</p>", "Dua paragraf"),
        ("Judul\x00\x1f\ufffe", "Judul"),
        ("", ""),
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


# --- summarize ---------------------------------------------------------------------------

LEAD = (
    "TANJUNG SELOR - Bupati Bulungan, Syarwani, S.Pd, M.Si menandatangani nota "
    "kesepakatan (MoU) dengan Badan Pertanahan Nasional"
)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("pendek", 280, "pendek"),
        ("  spasi   ganda\n\nbaris  ", 280, "spasi ganda baris"),
        ("tepat sepuluh", 13, "tepat sepuluh"),
        ("Halo dunia indah", 10, "Halo dunia…"),  # the cut falls on a space
        ("Halo dunia indah", 12, "Halo dunia…"),  # "indah" is not split
        ("Halo dunia indah", 3, "Hal…"),  # a first word longer than the limit
        ("a" * 50, 10, "a" * 10 + "…"),
        (LEAD, 30, "TANJUNG SELOR - Bupati…"),
        (LEAD, 40, "TANJUNG SELOR - Bupati Bulungan…"),  # no comma before the ellipsis
        (LEAD, 50, "TANJUNG SELOR - Bupati Bulungan, Syarwani, S.Pd…"),
        ("Kata (kurung) lalu", 6, "Kata…"),
        ("Ya. Tidak", 4, "Ya…"),
        ("... ...", 5, "...…"),  # nothing but punctuation: keep it rather than return "…"
    ],
)
def test_summarize(text: str, limit: int, expected: str) -> None:
    assert summarize(text, limit) == expected


def test_summarize_default_limit() -> None:
    words = "kata " * 100
    summary = summarize(words)
    assert summary.endswith("kata…")
    assert len(summary) <= 281


def test_summarize_rejects_a_useless_limit() -> None:
    with pytest.raises(ValueError):
        summarize("teks", 0)


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab ,.-…\n\u00a0é"), max_size=120),
    st.integers(min_value=1, max_value=60),
)
def test_summarize_properties(text: str, limit: int) -> None:
    normalized = " ".join(text.split())
    summary = summarize(text, limit)
    if len(normalized) <= limit:
        assert summary == normalized
        return
    assert summary.endswith("…")
    body = summary[:-1]
    assert len(summary) <= limit + 1
    assert normalized.startswith(body)
    assert body and not body[-1].isspace()
    # Cut at a word boundary, unless the first word alone is longer than the limit.
    following = normalized[len(body)]
    assert following in " ,.-…" or " " not in body
