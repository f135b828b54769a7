"""Telling people things from inside a transaction: words in each recipient's own language,
to a unit's group chats (some members @mentioned) or to one person 1:1, queued in the
outbox so they go out only if the step that caused them commits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Self

from bot.context import Context
from bot.message import Push, Reply, ReplyKind
from storage.models import ChatPurpose, Person
from storage.repos import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Term:
    """A catalog key put into each recipient's own language (a role, a status)."""

    key: str


Words = Callable[..., str]  # (locale, key, **values) -> text
PushFn = Callable[[Push, str], None]  # (push, purpose)


@dataclass(frozen=True, slots=True)
class Tell:
    store: Store
    words: Words
    push: PushFn
    # The group chat a command was sent in, and how to answer there: what that group would
    # be told of the command is its answer, so the group reads one message, not two.
    here: int | None = None
    answer: Callable[[Reply], None] | None = None

    @classmethod
    def of(cls, ctx: Context) -> Self:
        here = ctx.chat.id if ctx.chat is not None else None
        return cls(ctx.store, ctx.t_for, ctx.push, here, ctx.conversation.said_here.append)

    def text(self, locale: str | None, key: str, **values: Any) -> str:
        shown = {
            k: self.words(locale, v.key) if isinstance(v, Term) else v for k, v in values.items()
        }
        return str(self.words(locale, key, **shown))

    async def groups(
        self,
        unit_id: int,
        key: str,
        *,
        purpose: str,
        mention: Sequence[int] = (),
        chats: Collection[ChatPurpose] = (ChatPurpose.CADRES,),
        markdown: bool = False,
        image: str = "",
        **values: Any,
    ) -> int:
        """The unit's group chats of those kinds (its cadre groups unless told), in the
        deployment's language, @mentioning the people `mention` where they are bound on the
        group's platform; as markdown (a table) if asked; with a photo (`image`, a stored
        media name) for the channels that show one. Returns how many groups were told."""
        text = self.text(None, key, **values)
        told = 0
        for chat_kind in chats:
            for group in await self.store.chats.of_unit(unit_id, chat_kind):
                mentions = []
                for person_id in mention:
                    identity = await self.store.identities.of_person(person_id, group.channel)
                    if identity is not None:
                        mentions.append(identity.external_id)
                kind = ReplyKind.MARKDOWN if markdown else ReplyKind.TEXT
                reply = Reply(kind=kind, text=text, image=image, mentions=tuple(mentions))
                told += 1
                if group.id == self.here and self.answer is not None:
                    self.answer(reply)
                    continue
                push = Push(
                    channel=group.channel, chat_id=group.external_id, is_group=True, reply=reply
                )
                self.push(push, purpose)
        if not told:
            log.warning("unit %d has no %s group for %s", unit_id, "/".join(chats), key)
        return told

    async def broadcast(
        self,
        unit_ids: Collection[int],
        key: str,
        *,
        purpose: str,
        chats: Collection[ChatPurpose] = (ChatPurpose.CADRES,),
        **values: Any,
    ) -> int:
        """The same words to the groups of those kinds of many units (a notice to a county),
        the groups found in one query. Returns how many groups were told."""
        if not unit_ids:
            return 0
        text = self.text(None, key, **values)
        groups = await self.store.chats.of_units(unit_ids, chats)
        for group in groups:
            reply = Reply.of_text(text)
            if group.id == self.here and self.answer is not None:
                self.answer(reply)
                continue
            self.push(
                Push(channel=group.channel, chat_id=group.external_id, is_group=True, reply=reply),
                purpose,
            )
        return len(groups)

    async def person(self, person: Person, key: str, purpose: str, **values: Any) -> bool:
        """1:1 to the person's first chat account; False (and a log line) if they have none."""
        identity = await self.store.identities.first_of(person.id)
        if identity is None:
            log.warning("person %d has no chat account for %s", person.id, key)
            return False
        reply = Reply.of_text(self.text(person.locale, key, **values))
        push = Push(
            channel=identity.channel, chat_id=identity.external_id, is_group=False, reply=reply
        )
        self.push(push, purpose)
        return True


def span(tell: Tell, delta: timedelta) -> str:
    """A stretch of time as people say it, no longer than it was: "11分钟" under an hour,
    "5小时" under a day, then "2天", "2天3小时" (at least a minute)."""
    minutes = max(1, int(delta.total_seconds() // 60))
    if minutes < 60:
        return tell.text(None, "time.minutes", minutes=minutes)
    days, hours = divmod(minutes // 60, 24)
    if not days:
        return tell.text(None, "time.hours", hours=hours)
    if not hours:
        return tell.text(None, "time.days", days=days)
    return tell.text(None, "time.days_hours", days=days, hours=hours)
