"""What admins taught the bot with 关键词 (besides a category's words): auto-replies,
other names for commands, synonyms for ranking answers. Applied in order from the
database's log of changes; the newest change of a word wins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

KeywordChange = tuple[
    str, str, str, bool
]  # word, kind (reply | command | synonym), value, removed


@dataclass(frozen=True, slots=True)
class Taught:
    replies: dict[str, str] = field(default_factory=dict)  # word -> the answer
    commands: dict[str, str] = field(default_factory=dict)  # word -> the command it stands for
    synonyms: dict[str, str] = field(default_factory=dict)  # word -> the word it means

    def kinds_of(self, word: str) -> list[str]:
        return [
            kind
            for kind, table in (
                ("reply", self.replies),
                ("command", self.commands),
                ("synonym", self.synonyms),
            )
            if word in table
        ]


def taught(changes: Iterable[KeywordChange]) -> Taught:
    out = Taught()
    tables = {"reply": out.replies, "command": out.commands, "synonym": out.synonyms}
    for word, kind, value, removed in changes:
        table = tables.get(kind)
        if table is None:
            continue
        if removed:
            table.pop(word, None)
        else:
            table[word] = value
    return out
