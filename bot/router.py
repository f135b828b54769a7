"""Routers hold handlers with their filters; feature modules each own one, the app includes them.

Filters are declared on the decorator. A command word, a message kind and a conversation
state choose the handler; the roles say who may use it, and a person whose command matched
but whose role does not gets the one shared refusal instead of silence.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.message import InboundMessage, Kind, Reply
from storage.models import Role
from understanding import Intent

if TYPE_CHECKING:
    from bot.context import Context

HandlerResult = Reply | Sequence[Reply] | None
Handler = Callable[[InboundMessage, "Context"], Awaitable[HandlerResult]]

# What may separate a command word from its arguments, or lead it ("/帮助", "#绑定").
_LEADING = re.compile(r"^[/#＃\s]+")
_SEPARATORS = " \t\r\n:：,，、"


CANCEL_WORDS = ("取消", "cancel")  # ends any guided flow (a feature's cancel handler matches it)


class Filter(Protocol):
    def __call__(self, msg: InboundMessage, ctx: Context) -> bool: ...


class Command:
    """Matches text that starts with one of the words; what follows is the handler's args."""

    def __init__(self, *words: str) -> None:
        if not words:
            raise ValueError("Command needs at least one word")
        self.words = tuple(sorted(words, key=len, reverse=True))

    def args(self, text: str) -> str | None:
        text = _LEADING.sub("", text)
        for word in self.words:
            if text.startswith(word):
                return text[len(word) :].strip(_SEPARATORS)
        return None


@dataclass(frozen=True, slots=True)
class KindIs:
    kinds: frozenset[Kind]

    def __init__(self, *kinds: Kind) -> None:
        object.__setattr__(self, "kinds", frozenset(kinds))

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        return msg.kind in self.kinds


@dataclass(frozen=True, slots=True)
class InState:
    """Matches while the sender's conversation (in this chat) is in the named state. A
    handler with it is a step of a flow: it hears the sender's next messages in a group
    without an @mention."""

    name: str

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        return ctx.state is not None and ctx.state.name == self.name


@dataclass(frozen=True, slots=True)
class ReadsAs:
    """Matches text the application's understanding reads as one of these intents."""

    intents: frozenset[Intent]

    def __init__(self, *intents: Intent) -> None:
        object.__setattr__(self, "intents", frozenset(intents))

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        return bool(msg.text.strip()) and ctx.understanding.read(msg.text).intent in self.intents


@dataclass(frozen=True, slots=True)
class EventIs:
    events: frozenset[str]

    def __init__(self, *events: str) -> None:
        object.__setattr__(self, "events", frozenset(e.lower() for e in events))

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        return msg.kind is Kind.EVENT and msg.event.lower() in self.events


@dataclass(frozen=True, slots=True)
class MenuEntry:
    """A line of the help menu: shown to the roles that may use the command."""

    key: str
    roles: frozenset[Role] | None
    order: int

    def shown_to(self, roles: Collection[Role]) -> bool:
        return self.roles is None or not self.roles.isdisjoint(roles)


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    name: str
    func: Handler
    command: Command | None
    filters: tuple[Filter, ...]
    roles: frozenset[Role] | None  # None: anyone, guests included
    menu: MenuEntry | None

    @property
    def step(self) -> bool:
        """A step of a flow (an InState filter)."""
        return any(isinstance(f, InState) for f in self.filters)

    def allows(self, roles: Collection[Role]) -> bool:
        return self.roles is None or not self.roles.isdisjoint(roles)


def _binding_would_allow(spec: HandlerSpec, ctx: Context) -> bool:
    """A guest's photo or problem is a villager's: they are told to bind. Other free text
    meant for others (an elder's check-in in their own words) is simply not theirs."""
    return Role.GUEST in ctx.roles and spec.roles is not None and Role.VILLAGER in spec.roles


@dataclass(frozen=True, slots=True)
class Match:
    spec: HandlerSpec
    args: str
    permitted: bool


# Sees every message (addressed or not) before the handlers, in the same transaction; what
# it answers comes first. For what must never be missed in a chat, like an elder's 救命.
Observer = Callable[[InboundMessage, "Context"], Awaitable[Reply | None]]


@dataclass
class Router:
    name: str
    _handlers: list[HandlerSpec] = field(default_factory=list)
    _children: list[Router] = field(default_factory=list)
    _observers: list[Observer] = field(default_factory=list)

    def observe(self, func: Observer) -> Observer:
        self._observers.append(func)
        return func

    def observers(self) -> Iterator[Observer]:
        yield from self._observers
        for child in self._children:
            yield from child.observers()

    def message(
        self,
        *filters: Filter | Command,
        roles: Collection[Role] | None = None,
        menu: str | None = None,
        menu_order: int = 100,
        menu_roles: Collection[Role] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register a handler. `menu` is the catalog key of its line in the help menu, shown
        to `menu_roles` (default: the roles that may use it) when only some of those who may
        use it have a use for it (平安 is for elders)."""
        commands = [f for f in filters if isinstance(f, Command)]
        if len(commands) > 1:
            raise ValueError("a handler takes at most one Command filter")
        others = tuple(f for f in filters if not isinstance(f, Command))
        role_set = frozenset(roles) if roles is not None else None
        shown = frozenset(menu_roles) if menu_roles is not None else role_set

        def register(func: Handler) -> Handler:
            self._handlers.append(
                HandlerSpec(
                    name=f"{self.name}.{func.__name__}",
                    func=func,
                    command=commands[0] if commands else None,
                    filters=others,
                    roles=role_set,
                    menu=MenuEntry(menu, shown, menu_order) if menu else None,
                )
            )
            return func

        return register

    def include_router(self, router: Router) -> None:
        if router is self or router in self._children:
            raise ValueError(f"router {router.name} is already included")
        self._children.append(router)

    def handlers(self) -> Iterator[HandlerSpec]:
        """Every handler, in priority order: own handlers first, then included routers'."""
        yield from self._handlers
        for child in self._children:
            yield from child.handlers()

    def resolve(
        self, msg: InboundMessage, ctx: Context, *, answered: bool = False
    ) -> Match | None:
        """The handler for the message, or None.

        A flow's own words (its 取消) come first, then command words, then the flow's step,
        then other free text, each in priority order: so 我的信息 typed in the middle of 绑定
        is answered as itself. A step that takes any text as its content (State.verbatim: a
        notice's title) keeps it, unless the message is a command word alone. In a group,
        free text reaches only the steps of the sender's own flow in that chat, unless the
        bot is @mentioned. A command word that was refused is not then taken for free text;
        when an observer has `answered` (an SOS), free text gets no second answer."""
        verbatim = ctx.state is not None and ctx.state.verbatim
        own = [s for s in self.handlers() if s.command is not None and s.step]
        commands = [s for s in self.handlers() if s.command is not None and not s.step]
        free = [s for s in self.handlers() if s.command is None]
        order = own + commands + [s for s in free if s.step] + [s for s in free if not s.step]
        refused: Match | None = None
        for spec in order:
            args = ""
            if spec.command is not None:
                if msg.kind is not Kind.TEXT and msg.kind is not Kind.VOICE:
                    continue
                found = spec.command.args(msg.text)
                if found is None or (verbatim and found and not spec.step):
                    continue
                args = found
            elif not self._hears(spec, msg, answered, refused is not None):
                continue
            if not all(f(msg, ctx) for f in spec.filters):
                continue
            if spec.allows(ctx.roles):
                return Match(spec, args, permitted=True)
            if spec.command is not None or _binding_would_allow(spec, ctx):
                refused = refused or Match(spec, args, permitted=False)
        return refused

    @staticmethod
    def _hears(spec: HandlerSpec, msg: InboundMessage, answered: bool, refused: bool) -> bool:
        """Whether a handler of free text may take this message at all."""
        if refused or (answered and not spec.step):
            return False
        return msg.addressed or spec.step

    def is_command(self, text: str) -> bool:
        """Whether the text starts with a command word (帮助, 平安, 接单 …)."""
        return any(
            spec.command is not None and spec.command.args(text) is not None
            for spec in self.handlers()
        )

    def cancellable(self, state: str) -> bool:
        """Whether 取消 ends this state (its flow has a cancel handler)."""
        return any(
            spec.command is not None
            and set(spec.command.words) & set(CANCEL_WORDS)
            and InState(state) in spec.filters
            for spec in self.handlers()
        )

    def menu_for(self, roles: Collection[Role]) -> list[MenuEntry]:
        """The lines of the menu these roles may use; of two handlers of one command word
        (a cadre's 通知 and a villager's), only the line of the one that would answer."""
        entries: list[MenuEntry] = []
        taken: set[str] = set()
        for spec in self.handlers():
            if not spec.allows(roles):
                continue
            words = (
                set(spec.command.words) if spec.command is not None and not spec.filters else set()
            )
            if spec.menu is not None and spec.menu.shown_to(roles) and not words & taken:
                entries.append(spec.menu)
            taken |= words
        return sorted(entries, key=lambda e: e.order)
