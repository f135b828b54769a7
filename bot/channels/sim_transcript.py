"""The simulator's transcript: every chat's recent messages, in memory (the simulator serves
one demo instance), for the page and the tests to read."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.message import Kind


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    chat: str
    direction: str  # "in" (to the bot) or "out" (from the bot)
    sender: str
    text: str
    image: str  # a picture's URL on this server, or ""
    at: datetime
    kind: str = Kind.TEXT.value  # what was sent: "image" for a photo, shown or not

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "chat": self.chat,
            "direction": self.direction,
            "sender": self.sender,
            "text": self.text,
            "image": self.image,
            "at": self.at.isoformat(),
            "kind": self.kind,
        }


class Transcript:
    """Every chat's recent messages, in memory: the simulator is for one demo instance."""

    def __init__(self, per_chat: int = 500) -> None:
        self._seq = itertools.count(1)
        self._chats: dict[str, deque[Entry]] = {}
        self._per_chat = per_chat

    def add(
        self,
        chat: str,
        direction: str,
        sender: str,
        text: str,
        image: str,
        at: datetime,
        kind: str = Kind.TEXT.value,
    ) -> Entry:
        entry = Entry(next(self._seq), chat, direction, sender, text, image, at, kind)
        self._chats.setdefault(chat, deque(maxlen=self._per_chat)).append(entry)
        return entry

    def after(self, seq: int, chat: str | None = None) -> list[Entry]:
        chats = [self._chats.get(chat, deque())] if chat else list(self._chats.values())
        return sorted((e for q in chats for e in q if e.seq > seq), key=lambda e: e.seq)
