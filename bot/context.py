"""What a handler receives: who is talking, where, in which state, and the tools to answer."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import BotSettings
from bot.directory import AssignmentInfo, ChatInfo, PersonInfo, UnitInfo
from bot.i18n import Translations, Translator
from bot.media import Links, Photos
from bot.message import Push, Reply
from bot.outbox import enqueue
from bot.router import MenuEntry
from bot.store import KeyValue
from storage.models import Level, Role
from storage.repos import Store
from understanding import Understanding


@dataclass(frozen=True, slots=True)
class State:
    """A step of a multi-step conversation, kept in the key-value store with an expiry."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)
    # the step takes any text as its content (a notice's title): command words do not
    # interrupt it, unless sent alone
    verbatim: bool = False

    def dumps(self) -> str:
        value = {"name": self.name, "data": self.data, "verbatim": self.verbatim}
        return json.dumps(value, ensure_ascii=False)

    @classmethod
    def loads(cls, raw: str) -> State:
        value = json.loads(raw)
        return cls(
            name=str(value["name"]),
            data=dict(value.get("data") or {}),
            verbatim=bool(value.get("verbatim")),
        )


@dataclass(slots=True)
class Conversation:
    """State changes a handler asks for; applied only after its transaction commits."""

    new_state: State | None = None
    clear: bool = False
    sender_changed: bool = False  # the sender's binding or roles changed: drop cached lookups
    pushed: bool = False  # pushes were queued: wake the outbox worker
    # what the handler told the very group it was asked in: that is its answer there
    said_here: list[Reply] = field(default_factory=list)

    def set(self, name: str, *, verbatim: bool = False, **data: Any) -> None:
        self.new_state, self.clear = State(name, data, verbatim), False

    def end(self) -> None:
        self.new_state, self.clear = None, True


class Menu(Protocol):
    def menu_for(self, roles: Collection[Role]) -> list[MenuEntry]: ...

    def is_command(self, text: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Context:
    store: Store
    kv: KeyValue
    clock: Clock
    settings: BotSettings
    i18n: Translator
    menu: Menu
    person: PersonInfo | None
    roles: frozenset[Role]
    assignments: Sequence[AssignmentInfo]
    chat: ChatInfo | None
    unit: UnitInfo | None  # the org unit the group chat is bound to
    state: State | None
    conversation: Conversation
    links: Links = field(default_factory=Links)
    photos: Photos | None = None  # None: this bot keeps no photos (a test's bare dispatcher)
    translations: Translations | None = None  # every locale, for words to other people
    understanding: Understanding = field(default_factory=Understanding)
    args: str = ""

    @property
    def tier(self) -> Level | None:
        return self.unit.level if self.unit is not None else None

    def t(self, key: str, **values: Any) -> str:
        return self.i18n.t(key, **values)

    def t_for(self, locale: str | None, key: str, **values: Any) -> str:
        """Words for someone else, in their language (None: the deployment's)."""
        if self.translations is None:
            return self.t(key, **values)
        return self.translations.for_locale(locale).t(key, **values)

    def reply(self, key: str, **values: Any) -> Reply:
        return Reply.of_text(self.t(key, **values))

    def push(self, push: Push, purpose: str = "") -> None:
        """Queue a push in this handler's transaction: it goes out only if that commits."""
        enqueue(self.store, push, self.clock.now(), purpose)
        self.conversation.pushed = True
