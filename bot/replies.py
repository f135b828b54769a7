"""What became of a message, and its replies after the fact: for a platform's retry of it
(the answer it missed), or pushed when the handling missed the reply deadline and no retry
came for them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from bot.clock import Clock
from bot.config import BotSettings
from bot.message import InboundMessage, Push, Reply
from bot.outbox import enqueue
from bot.store import KeyValue
from storage.repos import UnitOfWork

log = logging.getLogger(__name__)

Result = Literal["handled", "duplicate", "rejected", "error"]


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    replies: tuple[Reply, ...] = ()


class Replies:
    def __init__(
        self,
        uow: UnitOfWork,
        kv: KeyValue,
        clock: Clock,
        settings: BotSettings,
        wake: Callable[[], None],
    ) -> None:
        self._uow = uow
        self._kv = kv
        self._clock = clock
        self._settings = settings
        self._wake = wake  # the outbox worker's
        self._in_flight: dict[tuple[str, str], asyncio.Future[Outcome]] = {}

    @contextmanager
    def handling(self, msg: InboundMessage) -> Iterator[asyncio.Future[Outcome]]:
        """While a message is handled here, a retry of it waits for its outcome (set on the
        future yielded) instead of reading the log."""
        key = (msg.channel, msg.msg_id)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            yield future
        except BaseException:
            future.cancel()  # only a cancellation gets here; waiters give up too
            raise
        finally:
            del self._in_flight[key]

    async def of(self, channel: str, msg_id: str, wait: float) -> tuple[Reply, ...]:
        """What an earlier delivery of this message answered, waiting up to `wait` seconds
        for one still being handled (here, or on another instance)."""
        future = self._in_flight.get((channel, msg_id))
        if future is not None:
            try:
                return (await asyncio.wait_for(asyncio.shield(future), wait)).replies
            except TimeoutError:
                return ()
            except asyncio.CancelledError:
                if future.cancelled():
                    return ()
                raise
        deadline = time.monotonic() + wait
        while True:
            try:
                async with self._uow() as store:
                    row = await store.inbound.get(channel, msg_id)
            except Exception as exc:  # the database is away: the retry gets no answer, not a 500
                log.warning("replies of %s/%s cannot be read: %s", channel, msg_id, exc)
                return ()
            if row is not None:
                return tuple(Reply.model_validate(r) for r in row.replies)
            if time.monotonic() + 0.2 > deadline:
                return ()
            await asyncio.sleep(0.2)

    async def claim(self, msg: InboundMessage, by: str) -> bool:
        """Whether `by` (a platform's retry, or the late push) is the one to deliver the
        replies of this message: the first to ask, once, across instances. So a retry that
        comes just as the late push is due never makes the villager read it twice."""
        key = self._kv.keys.served(msg.channel, msg.msg_id)
        return await self._kv.set_if_absent(key, by, self._settings.late_reply_after_seconds + 60)

    async def late(self, msg: InboundMessage, handling: asyncio.Future[Outcome]) -> None:
        """The handling of `msg` missed the platform's reply deadline. Once it is done and
        the platform has stopped retrying, push its replies unless a retry carried them."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome = await handling
        if not outcome.replies or outcome.result == "duplicate":
            return
        wait = self._settings.late_reply_after_seconds - (loop.time() - started)
        await asyncio.sleep(max(0.0, wait))
        if not await self.claim(msg, "late push"):
            return  # a retry carried them
        await self.push(msg, outcome.replies, "late reply")
        log.info("message %s/%s: late replies pushed", msg.channel, msg.msg_id)

    async def push(self, msg: InboundMessage, replies: Sequence[Reply], purpose: str) -> None:
        """Send replies to the chat of `msg` through the outbox (no passive reply for them)."""
        async with self._uow() as store:
            for reply in replies:
                push = Push(
                    channel=msg.channel, chat_id=msg.chat_id, is_group=msg.is_group, reply=reply
                )
                enqueue(store, push, self._clock.now(), purpose)
        self._wake()
