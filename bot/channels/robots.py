"""The push robots of group chats (DingTalk custom robots, WeCom group robots), read in bulk.

A fan-out to 1,500 groups must not cost 1,500 lookups: the outbox hands a channel the pushes
of a pass first (`prepare`), and their robots are read in one query and kept for a minute.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.message import Push
from storage.repos import UnitOfWork

CACHE_SECONDS = 60.0


class RobotBook:
    def __init__(self, uow: UnitOfWork, channel: str) -> None:
        self._uow = uow
        self._channel = channel
        self._robots: dict[str, tuple[float, str, str]] = {}  # chat -> (until, token, secret)

    async def prepare(self, pushes: Sequence[Push]) -> None:
        now = time.monotonic()
        wanted = {p.chat_id for p in pushes if p.is_group}
        missing = [c for c in wanted if self._robots.get(c, (0.0,))[0] <= now]
        if not missing:
            return
        async with self._uow() as store:
            robots = await store.chats.robots(self._channel, missing)
        for chat_id in missing:
            self._robots[chat_id] = (now + CACHE_SECONDS, *robots.get(chat_id, ("", "")))

    async def robot(self, chat_id: str) -> tuple[str, str]:
        """(token or key, secret) of the group's robot; empty strings when it has none."""
        cached = self._robots.get(chat_id)
        if cached is None or cached[0] <= time.monotonic():
            async with self._uow() as store:
                found = (await store.chats.robots(self._channel, [chat_id])).get(chat_id)
            cached = (time.monotonic() + CACHE_SECONDS, *(found or ("", "")))
            self._robots[chat_id] = cached
        return cached[1], cached[2]
