"""Markdown as each platform draws it. The bot writes one markdown (headings, bold, links,
tables, lists, `---` rules); each sender renders it, when it sends, for what its target
draws (PROTOCOLS.md §8.2): a table becomes one line per row where tables are not drawn.
A person's words in it (marked with escape.user_text) are escaped for the target and
hidden from the parse here, so that only the bot's own markup is ever read as markup.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from bot.channels.escape import (
    MARKERS,
    SPAN,
    any_markdown,
    dingtalk_markdown,
    newlines,
    plain,
    strip_markers,
    user_text,
    wecom_markdown,
    wecom_markdown_v2,
)
from bot.message import Reply, ReplyKind


@dataclass(frozen=True, slots=True)
class Renders:
    """What a target draws of markdown; `markdown=False` is plain text, none of it."""

    markdown: bool = True  # headings, bold, links
    tables: bool = True
    lists: bool = True
    rules: bool = True  # `---` separators
    mentions: bool = False  # `<@userid>` in the text
    escape: Callable[[str], str] = any_markdown  # a person's words, shown as written


PLAIN = Renders(markdown=False, tables=False, lists=False, rules=False, escape=plain)
EVERYTHING = Renders(mentions=True)  # the simulator shows what it is given
WECOM_MARKDOWN = Renders(
    tables=False, lists=False, rules=False, mentions=True, escape=wecom_markdown
)
WECOM_MARKDOWN_V2 = Renders(escape=wecom_markdown_v2)
DINGTALK_MARKDOWN = Renders(tables=False, rules=False, escape=dingtalk_markdown)

SEPARATOR = "——————"  # a rule where `---` is not drawn
GAP = "\u3000"  # between a row's name and its figures
JOIN = " · "
# Padding that no renderer collapses (markdown turns runs of ASCII spaces into one): an
# ideographic space is as wide as a Chinese character, a figure space as a digit.
WIDE_PAD, NARROW_PAD = "\u3000", "\u2007"

ROW = re.compile(r"^\s*\|.*\|\s*$")
DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)[\s#]*$")
RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
QUOTE = re.compile(r"^\s*>\s?")
BOLD = re.compile(r"(\*\*|__)(.+?)\1")
ITALIC = re.compile(r"(?<!\*)\*(?=\S)([^*\n]+?)(?<=\S)\*(?!\*)")
LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
MENTION = re.compile(r"<@([^>\s]+)>")
ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])")
PIPE = re.compile(r"(?<!\\)\|")
# A character set aside from the parse stands for itself: U+E000 plus its code (`\*` of the
# bot's, and the punctuation and line breaks of a person's words once escaped).
HIDDEN = re.compile("[\ue000-\ue07f]")
HIDE = str.maketrans({c: chr(0xE000 + ord(c)) for c in string.punctuation + "\n"})
NEWLINE = chr(0xE000 + ord("\n"))
TYPED_HIDDEN = dict.fromkeys(range(0xE000, 0xE080), "\ufffd")  # typed, they are nothing


def width(text: str) -> int:
    """Display width in cells: Chinese characters (east-asian wide, full-width and, in the
    Chinese fonts phones use, ambiguous ones like — and …) take two."""
    return sum(_cells_of(ch) for ch in text)


def _cells_of(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    if "\ue000" <= ch <= "\ue07f":  # set aside: it is drawn as the ASCII it stands for
        return 1
    return 2 if unicodedata.east_asian_width(ch) in "WFA" else 1


def pad(text: str, cells: int, *, right: bool = False) -> str:
    """`text` padded to `cells` wide with spaces markdown keeps."""
    gap = max(0, cells - width(text))
    fill = WIDE_PAD * (gap // 2) + NARROW_PAD * (gap % 2)
    return fill + text if right else text + fill


@dataclass(frozen=True, slots=True)
class Table:
    source: list[str]
    header: list[str]
    right: list[bool]  # `---:` columns: figures, aligned right
    rows: list[list[str]]


def has_table(text: str) -> bool:
    return any(isinstance(b, Table) for b in _blocks(_marked(text, PLAIN).splitlines()))


def render(text: str, target: Renders, limit: int | None = None) -> str:
    """`text` (the bot's markdown) as `target` draws it. Where tables are not drawn each row
    is a line, its name then each figure with its heading; if that would pass `limit` bytes,
    the headings are said once above the rows instead. A person's words in it are shown as
    written; no marker is left."""
    blocks = _blocks(_marked(text, target).splitlines())
    out = _shown(_render(blocks, target, compact=False))
    if limit is not None and len(out.encode()) > limit and not target.tables:
        out = _shown(_render(blocks, target, compact=True))
    return out


def _marked(text: str, target: Renders) -> str:
    """The text with each person's words escaped for `target`, then set aside from the
    parse (a `#` or a line break of theirs starts nothing here either)."""

    def words(span: re.Match[str]) -> str:
        typed = newlines(span.group(1).translate(TYPED_HIDDEN))
        return target.escape(typed).translate(HIDE)

    return MARKERS.sub("", SPAN.sub(words, text))


def _shown(text: str) -> str:
    return HIDDEN.sub(lambda m: chr(ord(m.group(0)) - 0xE000), text)


def _render(blocks: list[str | Table], target: Renders, *, compact: bool) -> str:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Table):
            lines += _table(block, target, compact)
        else:
            lines.append(_line(block, target))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _blocks(lines: list[str]) -> list[str | Table]:
    """The lines, with each table (a header row, a delimiter row, its rows) as one block."""
    blocks: list[str | Table] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if ROW.match(line) and "|" in nxt and DELIMITER.match(nxt):
            end = i + 2
            while end < len(lines) and ROW.match(lines[end]):
                end += 1
            blocks.append(_table_of(lines[i:end]))
            i = end
        else:
            blocks.append(line)
            i += 1
    return blocks


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:]
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in PIPE.split(inner)]


def _table_of(source: list[str]) -> Table:
    source = [line.replace(NEWLINE, " ") for line in source]  # a row is one line
    header = _cells(source[0])
    right = [c.endswith(":") for c in _cells(source[1])]
    rows = [_fit(_cells(line), len(header)) for line in source[2:]]
    return Table(source, header, right + [False] * len(header), rows)


def _fit(cells: list[str], count: int) -> list[str]:
    """A row with as many cells as its header (more, if it has more)."""
    return cells + [""] * (count - len(cells))


def _line(line: str, target: Renders) -> str:
    if RULE.match(line):
        return line if target.rules else SEPARATOR
    if not target.markdown:
        heading = HEADING.match(line)
        if heading:
            return _inline(heading.group(1), target)
        line = QUOTE.sub("", line)
    bullet = BULLET.match(line)
    if bullet and not target.lists:
        return f"{bullet.group(1)}· {_inline(bullet.group(2), target)}"
    return _inline(line, target)


def _inline(text: str, target: Renders) -> str:
    if not target.mentions:
        text = MENTION.sub(r"@\1", text)
    if target.markdown:
        return text
    # escaped characters are set aside so that `\*` is never taken for emphasis
    text = ESCAPED.sub(lambda m: chr(0xE000 + ord(m.group(1))), text)
    text = LINK.sub(lambda m: m.group(1) if m.group(1) == m.group(2) else _link(m), text)
    text = CODE.sub(r"\1", text)
    while BOLD.search(text):  # nested: **a **b** c**
        text = BOLD.sub(r"\2", text)
    return ITALIC.sub(r"\1", text).replace("**", "")  # what was set aside: by _shown


def _link(m: re.Match[str]) -> str:
    return f"{m.group(1)} {m.group(2)}".strip()


def _table(table: Table, target: Renders, compact: bool) -> list[str]:
    if target.tables:
        return [_inline(line, target) for line in table.source]
    if not table.rows:
        return []  # a heading row with nothing under it says nothing
    ranks = [_inline(row[0], PLAIN) for row in table.rows]
    ranked = len(table.header) > 1 and all(r.isdigit() or r in ("…", "...", "") for r in ranks)
    numbers = [r for r in ranks if r.isdigit()]
    numbered = ranked and numbers == [str(n) for n in range(1, len(numbers) + 1)]
    keys = 2 if ranked else 1  # the cells that name a row: (its place and) its name
    heads = [_inline(h, target) for h in table.header[keys:]]
    labels, values = [], []
    for rank, row in zip(ranks, table.rows, strict=True):
        cells = [_inline(c, target) for c in row]
        name = " ".join(c for c in cells[keys - 1 : keys] if c)
        if target.markdown and any(cells[keys:]) and name and not BOLD.fullmatch(name):
            name = f"**{name}**"
        mark = f"{cells[0]}." if numbered and rank.isdigit() else cells[0] if ranked else ""
        labels.append(" ".join(p for p in (mark, name) if p))
        values.append(cells[keys:])
    lines = [JOIN.join(heads)] if compact else []
    if compact:
        values = _columns(values, table.right[keys:])
    else:
        values = [[f"{h} {c}" if h else c for h, c in _headed(heads, row) if c] for row in values]
    return lines + _lines(labels, values, target)


def _headed(heads: list[str], row: list[str]) -> list[tuple[str, str]]:
    return list(zip(heads + [""] * (len(row) - len(heads)), row, strict=False))


def _columns(values: list[list[str]], right: list[bool]) -> list[list[str]]:
    """Each column padded to its widest cell (figures to the right), so they line up."""
    count = max(len(row) for row in values)
    widths = [
        max((_width(row[i]) for row in values if i < len(row)), default=0) for i in range(count)
    ]
    return [
        [
            _fill(c, widths[i], right=right[i] if i < len(right) else False)
            for i, c in enumerate(row)
        ]
        if any(row)
        else []
        for row in values
    ]


def _lines(labels: list[str], values: list[list[str]], target: Renders) -> list[str]:
    """One line per row: its name, padded so that the figures start together, then them."""
    named = max((_width(lb) for lb, v in zip(labels, values, strict=True) if any(v)), default=0)
    lines: list[str] = []
    for label, row in zip(labels, values, strict=True):
        if not any(row):  # a row with nothing but its name ("… 3 more not shown")
            if target.lists and lines:
                lines.append("")  # not a part of the numbered list above
            lines.append(label)
        else:
            lines.append(_fill(label, named) + GAP + JOIN.join(row).rstrip(WIDE_PAD + NARROW_PAD))
    return lines


def _width(shown: str) -> int:
    return width(_inline(shown, PLAIN))


def _fill(shown: str, cells: int, *, right: bool = False) -> str:
    """`shown` (which may hold markup) padded to `cells` as it is drawn."""
    gap = pad("", cells - _width(shown))
    return gap + shown if right else shown + gap


def as_plain(reply: Reply) -> str:
    """A reply's text for a channel that shows only plain text."""
    return as_shown(reply, PLAIN)


def as_shown(reply: Reply, target: Renders) -> str:
    """A reply's text as `target` shows it: markdown drawn for it, a text as it is."""
    if reply.kind is ReplyKind.MARKDOWN:
        return render(reply.text, target)
    return strip_markers(reply.text)


def as_markdown(reply: Reply) -> str:
    """A reply as the bot's markdown, to go with others in one markdown message: a text's
    words are shown as written (its links still open), none of them read as markup."""
    return reply.text if reply.kind is ReplyKind.MARKDOWN else user_text(reply.text)
