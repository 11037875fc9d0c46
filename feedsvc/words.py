"""Words of a text, for keyword alerts and search: pure, no Redis, no Telegram.

What matches (the bot's help and README say the same):
- a text is cut into words at everything that is not a letter or a digit, so
  "tanah-longsor" and "(PLN)" hold the words "tanah", "longsor" and "pln";
- case and accents are ignored ("Bulungan" = "bulungan", "café" = "cafe");
- a word matches its Indonesian affixed forms through their root word, as
  Sastrawi's stemmer finds it: "banjir" matches "kebanjiran", "bangun" matches
  "dibangun" and "pembangunan" (and, the price of roots, "makan" matches "makanan");
- whole words only: "pln" does not match "plnx", "banjir" not "banjirbandang";
- a keyword is one plain word: no phrases, wildcards or regular expressions.

A post's words (`word_set`) are computed once per post; a subscription's filter
(`KeywordFilter`) once per stored form (`compiled`), so deciding thousands of
chats is a set intersection each. Sastrawi is slow on a word it has not seen
(about a millisecond): roots are cached per word.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from feedsvc.ingest.sanitize import summarize
from feedsvc.models import Article

MAX_KEYWORDS = 20  # per subscription
MAX_WORD_LENGTH = 30  # the longest Indonesian words are about 25 letters
MAX_KEYWORDS_TEXT = 300  # characters of keywords in one command
LEAD_LENGTH = 300  # of an article's lead, as its push shows it
_WORD = re.compile(r"[^\W_]+")  # letters and digits
_TRIM = ".,;:!?\"'“”‘’()[]"  # allowed around a keyword and dropped
_ROOTABLE = re.compile(r"[a-z]+")  # Sastrawi knows Latin letters only


def normalize(text: str) -> str:
    """Casefolded, accents dropped (NFKD without combining marks)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def tokens(text: str) -> list[str]:
    """The words of `text`, normalised, in order."""
    return _WORD.findall(normalize(text))


@cache
def _stemmer():  # Sastrawi has no type hints
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=200_000)
def root(word: str) -> str:
    """The root word of a normalised word ("kebanjiran" -> "banjir")."""
    if not _ROOTABLE.fullmatch(word):
        return word  # digits, other scripts: kept as they are
    return _stemmer().stem(word) or word


def _holds(root_word: str, words: frozenset[str]) -> bool:
    if root_word in words:
        return True
    # An affixed form holds its root, but for the first letter that meN-/peN- may
    # drop ("memukul": pukul, "menyapu": sapu): only such words are rooted.
    tail = root_word[1:] or root_word
    return any(tail in word and root(word) == root_word for word in words)


def word_set(*texts: str) -> frozenset[str]:
    """The root words of the texts: what keywords are matched against."""
    return frozenset(root(t) for text in texts for t in tokens(text))


class Problem(enum.StrEnum):
    TOO_LONG = "too_long"  # more than MAX_KEYWORDS_TEXT characters
    TOO_MANY = "too_many"  # more than MAX_KEYWORDS words
    BAD_WORD = "bad_word"  # not one plain word: emoji, punctuation, too long


class KeywordError(ValueError):
    def __init__(self, problem: Problem, word: str = "") -> None:
        super().__init__(f"{problem}: {word}" if word else str(problem))
        self.problem = problem
        self.word = word


@dataclass(frozen=True, slots=True)
class KeywordFilter:
    """A subscription's keywords: a post passes when it holds one of `include` (or
    `include` is empty) and none of `exclude`, compared as root words."""

    words: tuple[str, ...]  # as kept and shown: normalised, "-" before an exclusion
    include: frozenset[str]
    exclude: frozenset[str]

    def matches(self, post: frozenset[str]) -> bool:
        if not self.exclude.isdisjoint(post):
            return False
        return not self.include or not self.include.isdisjoint(post)

    def matches_all(self, post: frozenset[str]) -> bool:
        """Every word is there (as root words), no excluded one."""
        return self.include <= post and self.exclude.isdisjoint(post)

    def found_in(self, words: frozenset[str]) -> bool:
        """`matches_all` over a text's plain words (`tokens`), rooting only the words
        that may share a root with a keyword: what search does over thousands of
        stored articles, where rooting every word once would take seconds."""
        return all(_holds(r, words) for r in self.include) and not any(
            _holds(r, words) for r in self.exclude
        )

    def __str__(self) -> str:
        return " ".join(self.words)

    def __bool__(self) -> bool:
        return bool(self.words)


@dataclass(frozen=True, slots=True)
class FilterIndex:
    """The keyword filters of one category's subscribers, inverted (root word -> chats),
    so the chats a post passes are a few set unions whatever their number."""

    filtered: frozenset[str]  # chats with keywords
    open: frozenset[str]  # chats with exclusions only: passed unless one is there
    include: dict[str, frozenset[str]]
    exclude: dict[str, frozenset[str]]

    @classmethod
    def build(cls, stored: dict[str, str]) -> FilterIndex:
        """From chat -> stored keywords (`str(KeywordFilter)`)."""
        include: dict[str, set[str]] = {}
        exclude: dict[str, set[str]] = {}
        opened = set()
        for chat, keywords in stored.items():
            f = compiled(keywords)
            if not f.include:
                opened.add(chat)
            for word in f.include:
                include.setdefault(word, set()).add(chat)
            for word in f.exclude:
                exclude.setdefault(word, set()).add(chat)
        return cls(
            frozenset(stored),
            frozenset(opened),
            {w: frozenset(c) for w, c in include.items()},
            {w: frozenset(c) for w, c in exclude.items()},
        )

    def passing(self, post: frozenset[str]) -> set[str]:
        """The filtered chats whose keywords `post` (its root words) matches."""
        matched, dropped = set(self.open), set()
        for word in post:
            if chats := self.include.get(word):
                matched |= chats
            if chats := self.exclude.get(word):
                dropped |= chats
        return matched - dropped


def parse_keywords(text: str, limit: int = MAX_KEYWORDS) -> KeywordFilter:
    """Keywords as a user types them ("banjir, longsor -hoaks"); KeywordError when
    they are not plain words or too many. An empty text is the empty filter."""
    items = text.replace(",", " ").split()
    if len(set(items)) > limit:
        raise KeywordError(Problem.TOO_MANY)
    if len(text) > MAX_KEYWORDS_TEXT:
        raise KeywordError(Problem.TOO_LONG)
    words = tuple(dict.fromkeys(_keyword(item) for item in items))
    if len(words) > limit:  # "Banjir" and "banjir" are one
        raise KeywordError(Problem.TOO_MANY)
    return _build(words)


@lru_cache(maxsize=100_000)
def compiled(stored: str) -> KeywordFilter:
    """The filter of a stored form (`str(filter)`); cached, as thousands are checked per post."""
    return _build(tuple(stored.split()))


def _keyword(item: str) -> str:
    exclude = item.startswith("-")
    body = item[1:] if exclude else item
    body = body.strip(_TRIM)
    word = normalize(body)
    if not word or len(word) > MAX_WORD_LENGTH or not _WORD.fullmatch(word):
        raise KeywordError(Problem.BAD_WORD, item)
    return "-" + word if exclude else word


def _build(words: tuple[str, ...]) -> KeywordFilter:
    include = frozenset(root(w) for w in words if not w.startswith("-"))
    exclude = frozenset(root(w[1:]) for w in words if w.startswith("-"))
    return KeywordFilter(words, include, exclude)


@lru_cache(maxsize=50_000)
def plain_words(title: str, summary: str) -> frozenset[str]:
    """The words of a post's title and lead as written (normalised, not rooted)."""
    return frozenset(tokens(title)) | frozenset(tokens(summarize(summary, LEAD_LENGTH)))


def stored_words(title: str, summary: str) -> str:
    """`plain_words` as kept with a stored article, for search: space-separated."""
    return " ".join(sorted(plain_words(title, summary)))


def article_words(article: Article) -> frozenset[str]:
    """The root words of a post's title and lead: what keywords and searches match."""
    return word_set(article.title, summarize(article.summary, LEAD_LENGTH))
