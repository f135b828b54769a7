"""A person's words in the bot's markdown, shown as they were typed and never read as markup.

Handlers mark the words where they enter a markdown message (`user_text`); the renderer
(render.py) passes each marked span through its target's escape below. There is one escape
per markdown dialect (PROTOCOLS.md §8.2). Each turns the characters that dialect could read
as markup into the full-width forms Chinese text uses anyway. A backslash would not do:
WeCom does not say that its markdown honours one, and where it does not, `\\[a\\](b)` is
still a link. Web links in the words are kept as typed, so that they still open.
"""

from __future__ import annotations

import re

# Never in a person's text (InboundMessage drops C0 controls but tab and newline): the two
# information separators mark where a person's words start and end.
START, END = "\x1e", "\x1f"
MARKERS = re.compile("[\x1e\x1f]")
# A span whose end was cut off runs to the next span or to the end: a cut never lets
# words out unescaped.
SPAN = re.compile("\x1e([^\x1e\x1f]*)(?:\x1f|(?=\x1e)|\\Z)")

NBSP = "\u00a0"  # indents nothing: CommonMark counts only spaces and tabs
# What a client may take for the end of a line (JavaScript's `^` does, in multiline mode).
BREAKS = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# What starts a block at the start of a line, after any spaces (a parser may count an
# ideographic one): a heading, a quote, a list item, a rule or a setext underline, an
# indented code block; "1." and "1)" only before a space, so that "1.5元" is left alone.
LEAD = re.compile(r"[^\S\n]*(?:[#>+=-]|\d{1,9}[.)](?=\s|$))?")
# A web link, as far as the characters a link may hold go (none that open markup: no
# brackets, no `*`, `!`, `<`, `|` or backtick), and not ending in punctuation.
URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#@$&+,;=%]*[A-Za-z0-9/#=&%+_-]")


def user_text(text: str) -> str:
    """`text` marked as words to be shown as written, never read as markdown: what a
    villager typed (a report, a question, an answer), a name, anything not the bot's."""
    return f"{START}{MARKERS.sub('', text)}{END}"


def strip_markers(text: str) -> str:
    return MARKERS.sub("", text)


def _full_width(chars: str) -> dict[int, str]:
    return {ord(c): chr(ord(c) + 0xFEE0) for c in chars}  # "[" U+005B -> "［" U+FF3B


_LEAD_FORMS = {**_full_width("#>+=-.)"), ord(" "): NBSP, ord("\t"): NBSP}
# Links, images and their parts, emphasis and strikethrough, inline code, a backslash that
# would escape the bot's own markup after the words, `<` that opens <font> and <@userid>
# (and `>`, to match it).
_COMMON = "\\`*_~[]()!<>"
_WECOM = _full_width(_COMMON)
_WECOM_V2 = _full_width(_COMMON + "|")  # and tables
_DINGTALK = _full_width(_COMMON + "|@")  # and what a desktop draws of tables, @mentions
_ANY = _full_width(_COMMON + "|@")


def newlines(text: str) -> str:
    """The text with whatever a client may take for a line break as a newline."""
    return BREAKS.sub("\n", text)


def _escape(text: str, forms: dict[int, str]) -> str:
    return "\n".join(_line(line, forms) for line in newlines(text).split("\n"))


def _line(line: str, forms: dict[int, str]) -> str:
    match = LEAD.match(line)
    lead = match.group(0) if match else ""
    rest, kept, at = line[len(lead) :], [], 0
    for url in URL.finditer(rest):
        kept += [rest[at : url.start()].translate(forms), url.group(0)]
        at = url.end()
    kept.append(rest[at:].translate(forms))
    return lead.translate(_LEAD_FORMS) + "".join(kept)


def wecom_markdown(text: str) -> str:
    """WeCom's `markdown`: links, headings, quotes, bold, code, <font> and <@userid>; it
    draws no tables, so `|` and `@` (outside <@…>) are left as typed."""
    return _escape(text, _WECOM)


def wecom_markdown_v2(text: str) -> str:
    """WeCom's `markdown_v2`: also images, lists, tables and `---` (no <@userid>)."""
    return _escape(text, _WECOM_V2)


def dingtalk_markdown(text: str) -> str:
    """DingTalk's markdown: links, images, headings, quotes, lists, and `@<id>` or
    `@<mobile>` in the text, which places a mention the message's `at` carries."""
    return _escape(text, _DINGTALK)


def any_markdown(text: str) -> str:
    """A markdown not named above (the simulator's page): everything any of them reads."""
    return _escape(text, _ANY)


def plain(text: str) -> str:
    """Plain text (WeChat, a text message): the words as they are."""
    return text
