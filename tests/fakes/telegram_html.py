"""What Telegram accepts as a message text: its HTML subset and its length in UTF-16 units."""

from __future__ import annotations

from html.parser import HTMLParser

# What Telegram's HTML parse mode accepts (core.telegram.org/bots/api#html-style).
HTML_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
})  # fmt: skip
MAX_TEXT = 4096


class _TelegramHTML(HTMLParser):
    """Checks markup the way Telegram does: known tags, properly nested, known entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.text: list[str] = []
        self.problem = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            self.problem = self.problem or f'unsupported start tag "{tag}"'
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problem = self.problem or f'unexpected end tag "{tag}"'

    def handle_data(self, data: str) -> None:
        if any(c in data for c in "<>&"):
            self.problem = self.problem or "unescaped <, > or &"
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            self.problem = self.problem or f"unsupported entity &{name};"
        self.text.append("x")

    def handle_charref(self, name: str) -> None:
        self.text.append("x")


def check_text(text: str, parse_mode: str | None) -> str:
    """Telegram's complaint about a message text, or "" when it would be sent."""
    visible = text
    if parse_mode == "HTML":
        parser = _TelegramHTML()
        parser.feed(text)
        parser.close()
        if parser.problem or parser.open:
            why = parser.problem or f'tag "{parser.open[-1]}" is not closed'
            return f"can't parse entities: {why}"
        visible = "".join(parser.text)
    if len(visible) > MAX_TEXT:
        return "message is too long"
    return ""
