"""Who is talking and where: the registry lookups every message needs, cached in the store.

Every inbound message needs its sender's person and roles, and a group message its chat and
org unit. Reading them from the database each time would make every message a database
transaction, even "帮助". The directory keeps immutable snapshots in the key-value store
(shared by all instances when that is Redis) for `ttl` seconds: a binding forgets its
sender's entry at once; a registry import reaches running bots within `ttl`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Row

from bot.store import KeyValue
from storage.models import ChatPurpose, GroupChat, Level, OrgUnit, Role
from storage.repos import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PersonInfo:
    id: int
    code: str
    name: str
    phone_masked: str
    village_id: int | None
    grid_id: int | None
    household_id: int | None
    locale: str
    is_elder: bool

    @classmethod
    def of(cls, row: Row[Any]) -> PersonInfo:
        return cls(
            row.id,
            row.code,
            row.name,
            row.phone_masked,
            row.village_id,
            row.grid_id,
            row.household_id,
            row.locale,
            row.is_elder,
        )


@dataclass(frozen=True, slots=True)
class AssignmentInfo:
    role: Role
    org_unit_id: int
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sender:
    """A chat account as the registry knows it: a person with roles, or a guest (None)."""

    person: PersonInfo | None
    assignments: tuple[AssignmentInfo, ...] = ()
    cares_as: tuple[str, ...] = ()  # caretaker, family: how they look after an elder

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def loads(cls, raw: str) -> Sender:
        data: dict[str, Any] = json.loads(raw)
        person = PersonInfo(**data["person"]) if data["person"] else None
        assignments = tuple(
            AssignmentInfo(Role(a["role"]), a["org_unit_id"], tuple(a["categories"]))
            for a in data["assignments"]
        )
        return cls(person, assignments, tuple(data.get("cares_as", ())))


@dataclass(frozen=True, slots=True)
class UnitInfo:
    id: int
    code: str
    name: str
    level: Level
    parent_id: int | None

    @classmethod
    def of(cls, u: OrgUnit) -> UnitInfo:
        return cls(u.id, u.code, u.name, u.level, u.parent_id)


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """A registered group chat and the org unit it belongs to (which makes its tier)."""

    id: int
    name: str
    purpose: ChatPurpose
    unit: UnitInfo

    @classmethod
    def of(cls, chat: GroupChat, unit: OrgUnit) -> ChatInfo:
        return cls(chat.id, chat.name, chat.purpose, UnitInfo.of(unit))

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def loads(cls, raw: str) -> ChatInfo:
        data: dict[str, Any] = json.loads(raw)
        u = data["unit"]
        unit = UnitInfo(u["id"], u["code"], u["name"], Level(u["level"]), u["parent_id"])
        return cls(data["id"], data["name"], ChatPurpose(data["purpose"]), unit)


T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Concurrent misses of one key share one load: a villager's burst of messages, or a
    busy group, costs one database read, not one each."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[T]] = {}

    async def do(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(load())
            self._running[key] = task
            task.add_done_callback(lambda _: self._running.pop(key, None))
        # shielded: one waiter giving up must not cancel the load the others wait for
        return await asyncio.shield(task)


_UNKNOWN_CHAT = "-"  # cached answer for a group chat the registry does not know


class Directory:
    def __init__(self, uow: UnitOfWork, kv: KeyValue, ttl: float) -> None:
        self._uow = uow
        self._kv = kv
        self._ttl = ttl
        self._senders: SingleFlight[Sender] = SingleFlight()
        self._chats: SingleFlight[ChatInfo | None] = SingleFlight()

    async def sender(self, channel: str, external_id: str) -> Sender:
        key = self._kv.keys.sender(channel, external_id)
        cached = await self._kv.get(key)
        if cached is not None:
            return Sender.loads(cached)
        return await self._senders.do(key, lambda: self._load_sender(key, channel, external_id))

    async def _load_sender(self, key: str, channel: str, external_id: str) -> Sender:
        async with self._uow() as store:
            rows = await store.identities.person_with_roles(channel, external_id)
            cares_as = await store.elders.relations_of(rows[0].id) if rows else ()
        found = Sender(
            PersonInfo.of(rows[0]) if rows else None,
            tuple(
                AssignmentInfo(r.role, r.org_unit_id, tuple(r.categories or ()))
                for r in rows
                if r.role is not None
            ),
            tuple(sorted(r.value for r in cares_as)),
        )
        await self._kv.set(key, found.dumps(), self._ttl)
        return found

    async def chat(self, channel: str, external_id: str) -> ChatInfo | None:
        key = self._kv.keys.chat(channel, external_id)
        cached = await self._kv.get(key)
        if cached is not None:
            return None if cached == _UNKNOWN_CHAT else ChatInfo.loads(cached)
        return await self._chats.do(key, lambda: self._load_chat(key, channel, external_id))

    async def _load_chat(self, key: str, channel: str, external_id: str) -> ChatInfo | None:
        async with self._uow() as store:
            chat = await store.chats.by_external(channel, external_id)
            unit = await store.org.get(chat.org_unit_id) if chat is not None else None
        found = ChatInfo.of(chat, unit) if chat is not None and unit is not None else None
        if found is None:  # the operator needs this id to bind the group in the registry
            log.info("group chat %s/%s is not in the registry", channel, external_id)
        await self._kv.set(key, found.dumps() if found else _UNKNOWN_CHAT, self._ttl)
        return found

    async def forget_sender(self, channel: str, external_id: str) -> None:
        await self._kv.delete(self._kv.keys.sender(channel, external_id))
