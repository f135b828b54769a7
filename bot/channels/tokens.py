"""Platform access tokens, cached in the key-value store so that every instance shares one.

WeChat, WeCom and DingTalk each hand out an access token valid for about two hours and limit
how often one may be fetched. One instance fetches it (under a short lock), everyone reads it
from the store, and it is dropped a few minutes before it expires, or at once when the
platform says it is no longer valid.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable

from bot.store import KeyValue

EARLY_SECONDS = 300  # drop a token this long before the platform would
LOCK_SECONDS = 10.0

Fetch = Callable[[], Awaitable[tuple[str, float]]]  # -> (token, seconds it is valid)


class AccessToken:
    def __init__(self, kv: KeyValue, channel: str, fetch: Fetch) -> None:
        self._kv = kv
        self._key = kv.keys.token(channel)
        self._lock = kv.keys.lock(f"token:{channel}")
        self._fetch = fetch
        self._local = asyncio.Lock()  # one fetch at a time in this instance
        self._held: tuple[str, float] | None = None  # (token, monotonic expiry) last had here

    async def get(self) -> str:
        cached = await self._kv.get(self._key)
        if cached:
            return cached
        async with self._local:
            cached = await self._kv.get(self._key)
            if cached:
                return cached
            if self._kv.degraded:
                return await self._without_store()
            owner = secrets.token_hex(8)
            for _ in range(50):  # another instance is fetching: wait for its token, 5 s at most
                if await self._kv.acquire_lock(self._lock, owner, LOCK_SECONDS):
                    break
                await asyncio.sleep(0.1)
                cached = await self._kv.get(self._key)
                if cached:
                    return cached
            try:
                token, valid = await self._fetch()
                await self._kv.set(self._key, token, max(60.0, valid - EARLY_SECONDS))
            finally:
                await self._kv.release_lock(self._lock, owner)
            self._held = (token, time.monotonic() + valid - EARLY_SECONDS)
            return token

    async def _without_store(self) -> str:
        """The store cannot be reached: the token this instance last had while it is
        valid, else one fetched now (not shared, so fetched as seldom as possible)."""
        if self._held is not None and time.monotonic() < self._held[1]:
            return self._held[0]
        token, valid = await self._fetch()
        self._held = (token, time.monotonic() + valid - EARLY_SECONDS)
        return token

    async def invalidate(self, stale: str) -> None:
        """The platform refused `stale`: forget it, unless another instance already has a
        newer one."""
        if self._held is not None and self._held[0] == stale:
            self._held = None
        if await self._kv.get(self._key) == stale:
            await self._kv.delete(self._key)
