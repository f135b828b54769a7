"""Redis, guarded: when it cannot answer, the bot goes on in a degraded way instead of
failing every message.

Each call that fails (or every call in the few seconds after one failed, so a hung Redis
costs one timeout, not one per call) returns what keeps a message flowing, and the
database keeps what matters:

- dedup says "first": the inbound log's unique key in the database refuses a second
  handling of the same message;
- counters read 0 (rate limits skipped) and send slots are free (the platform's own
  limit answers a flood, and the outbox retries);
- reads find nothing and writes are dropped: conversation state is empty (the dispatcher
  tells the person a flow must start again), caches are read from the database;
- locks are never held: the scheduler pauses rather than risk two leaders.

Service comes back by itself: after the pause the next call tries Redis again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from redis.exceptions import RedisError

from bot.store import KeyValue

log = logging.getLogger(__name__)

T = TypeVar("T")

PAUSE_SECONDS = 2.0  # after a failure, how long calls skip Redis before it is tried again


class GuardedStore:
    """A KeyValue over another (Redis) that degrades instead of raising."""

    def __init__(self, inner: KeyValue, pause: float = PAUSE_SECONDS) -> None:
        self.keys = inner.keys
        self._inner = inner
        self._pause = pause
        self._failed_at: float | None = None  # monotonic time of the last failure

    @property
    def degraded(self) -> bool:
        """Whether the store is failing: calls are answered without it."""
        return self._failed_at is not None

    async def _guard(self, call: Coroutine[Any, Any, T], fallback: T) -> T:
        if self._failed_at is not None and time.monotonic() - self._failed_at < self._pause:
            call.close()  # not awaited: closed, so no "never awaited" warning
            return fallback
        try:
            result = await call
        except (RedisError, OSError, TimeoutError) as exc:
            self._failing(exc)
            return fallback
        self._answering()
        return result

    def _failing(self, exc: BaseException) -> None:
        if self._failed_at is None:
            log.error("key-value store unreachable (%s): degraded service", exc)
        self._failed_at = time.monotonic()

    def _answering(self) -> None:
        if self._failed_at is not None:
            log.warning("key-value store answers again: normal service")
            self._failed_at = None

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        return await self._guard(self._inner.set_if_absent(key, value, ttl), True)

    async def get(self, key: str) -> str | None:
        return await self._guard(self._inner.get(key), None)

    async def set(self, key: str, value: str, ttl: float) -> None:
        await self._guard(self._inner.set(key, value, ttl), None)

    async def delete(self, key: str) -> None:
        await self._guard(self._inner.delete(key), None)

    async def incr(self, key: str, ttl: float) -> int:
        return await self._guard(self._inner.incr(key, ttl), 0)

    async def take_slot(self, key: str, now: float, interval: float) -> float:
        return await self._guard(self._inner.take_slot(key, now, interval), 0.0)

    async def acquire_lock(self, key: str, owner: str, ttl: float) -> bool:
        return await self._guard(self._inner.acquire_lock(key, owner, ttl), False)

    async def extend_lock(self, key: str, owner: str, ttl: float) -> bool:
        return await self._guard(self._inner.extend_lock(key, owner, ttl), False)

    async def release_lock(self, key: str, owner: str) -> bool:
        return await self._guard(self._inner.release_lock(key, owner), False)

    async def ping(self) -> None:
        """The health check wants the truth, not a fallback: this raises."""
        try:
            await self._inner.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            self._failing(exc)
            raise
        self._answering()

    async def close(self) -> None:
        await self._inner.close()
