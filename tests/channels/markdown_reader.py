"""What a cadre group would see as markup in a message: a reader more generous than any of
the platforms' (a line's start skips any Unicode space, a link needs no URL), and the
villagers' words a group would read in it. Shared by the markdown-injection tests."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# Texts a villager could send to make a cadre group's message say something else.
HOSTILE = [
    "[点我](http://evil)",
    "![x](http://evil/x.png)",
    "# 标题",
    "> 引用",
    "<@zhangsan>",
    '<font color="warning">紧急</font>',
    "@13800000000",
    "| a | b |",
    "**粗**",
    "路灯坏了\n# heading",
    "说明\n===\n- 第一条\n1. 第二条\n---",
    "  ### 缩进的标题\n    代码",
    "`代码` _斜_ ~~删~~ \\*",
    "转义\\",
    "第一行\u2028# 标题\u2029> 引用",
]

LINE_STARTS = {
    "heading": r"#",
    "quote": r">",
    "list item": r"[-+*](\s|$)|\d+[.)](\s|$)",
    "rule or underline": r"([-=_*])\s*\1",
}
INLINE = {
    "link": r"\[[^\]]*\]\s*\(",
    "image": r"!\[",
    "emphasis": r"\*|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|~~",
    "code": r"`",
    "html or mention": r"<[@A-Za-z/!]",
    "escape": r"\\",
}
LINE_BREAKS = re.compile("[\n\u2028\u2029\x85]")


def markup(shown: str, *, tables: bool = True, at: bool = True) -> Counter[str]:
    """Everything in `shown` some markdown could take for markup, counted: `tables` where
    `|` may draw a table, `at` where `@someone` in the text places a mention (DingTalk)."""
    found: Counter[str] = Counter()
    for line in LINE_BREAKS.split(shown):
        found["code block"] += bool(re.match(r"( {4}|\t)", line))
        start = line.lstrip()  # any Unicode space, no-break ones too
        for kind, pattern in LINE_STARTS.items():
            found[kind] += bool(re.match(pattern, start))
        if tables:
            found["table cell"] += line.count("|")
    for kind, pattern in INLINE.items():
        found[kind] += len(re.findall(pattern, shown))
    if at:
        found["@mention"] += len(re.findall(r"@\w", shown))
    return +found  # without the kinds found no times


def read(shown: str) -> str:
    """The words as a person reads them: full-width forms as the characters they show,
    no-break spaces as spaces."""
    return unicodedata.normalize("NFKC", shown)


def as_typed(text: str) -> str:
    """What a villager's words read as once shown: the same, their line breaks as lines."""
    return read(LINE_BREAKS.sub("\n", text))
