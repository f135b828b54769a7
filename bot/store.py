"""The key-value store behind dedup, conversation state, rate limits and locks.

Two implementations with one interface: Redis (any number of instances) and an in-process
dict (the embedded default; one instance only). Every key comes from `Keys` and every
write carries an expiry.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from bot.clock import Clock


@dataclass(frozen=True, slots=True)
class Keys:
    """All keys the bot writes, in one place."""

    prefix: str = "vb"

    def dedup(self, channel: str, msg_id: str) -> str:
        return f"{self.prefix}:dedup:{channel}:{msg_id}"

    def state(self, channel: str, chat_id: str, user_id: str) -> str:
        return f"{self.prefix}:state:{channel}:{chat_id}:{user_id}"

    def rate(self, channel: str, user_id: str, window: int) -> str:
        return f"{self.prefix}:rate:{channel}:{user_id}:{window}"

    def sender(self, channel: str, user_id: str) -> str:
        return f"{self.prefix}:sender:{channel}:{user_id}"

    def chat(self, channel: str, chat_id: str) -> str:
        return f"{self.prefix}:chat:{channel}:{chat_id}"

    def session_webhook(self, channel: str, chat_id: str) -> str:
        return f"{self.prefix}:session:{channel}:{chat_id}"

    def stream(self, channel: str, stream_id: str) -> str:
        return f"{self.prefix}:stream:{channel}:{stream_id}"

    def served(self, channel: str, msg_id: str) -> str:
        return f"{self.prefix}:served:{channel}:{msg_id}"

    def token(self, channel: str) -> str:
        return f"{self.prefix}:token:{channel}"

    def send_slot(self, channel: str, target: str) -> str:
        return f"{self.prefix}:sendslot:{channel}:{target}"

    def bind_failures(self, channel: str, user_id: str) -> str:
        return f"{self.prefix}:bindfail:{channel}:{user_id}"

    def bind_target_failures(self, person_id: int) -> str:
        return f"{self.prefix}:bindtarget:{person_id}"

    def bind_request(self, number: int) -> str:
        return f"{self.prefix}:bindreq:{number}"

    def bind_request_sequence(self) -> str:
        return f"{self.prefix}:bindreq:seq"

    def bind_request_from(self, channel: str, user_id: str) -> str:
        return f"{self.prefix}:bindreqfrom:{channel}:{user_id}"

    def lock(self, name: str) -> str:
        return f"{self.prefix}:lock:{name}"


class KeyValue(Protocol):
    keys: Keys

    @property
    def degraded(self) -> bool:
        """Whether calls are being answered without the store (it cannot be reached)."""
        ...

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        """Store value unless the key exists; True when this call stored it."""
        ...

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str, ttl: float) -> int:
        """Add one to a counter; the expiry starts with the counter's first increment."""
        ...

    async def take_slot(self, key: str, now: float, interval: float) -> float:
        """A rate limit of one event per `interval` seconds, by the caller's clock (`now`,
        epoch seconds): 0 when the event may happen now (and the next slot is booked),
        else how many seconds to wait."""
        ...

    async def acquire_lock(self, key: str, owner: str, ttl: float) -> bool: ...

    async def extend_lock(self, key: str, owner: str, ttl: float) -> bool: ...

    async def release_lock(self, key: str, owner: str) -> bool: ...

    async def ping(self) -> None:
        """Raise when the store cannot answer."""
        ...

    async def close(self) -> None: ...


class MemoryStore:
    """In-process store for a single instance; expiry follows the injected clock."""

    degraded = False  # in-process: always there

    def __init__(self, clock: Clock, keys: Keys | None = None) -> None:
        self.keys = keys or Keys()
        self._clock = clock
        self._data: dict[str, tuple[str, float]] = {}
        self._puts = 0

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _live(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] <= self._now():
            del self._data[key]
            return None
        return item[0]

    def _put(self, key: str, value: str, ttl: float) -> None:
        self._data[key] = (value, self._now() + ttl)
        self._puts += 1
        if self._puts % 10_000 == 0:  # sweep expired keys now and then; memory stays bounded
            now = self._now()
            for k in [k for k, (_, exp) in self._data.items() if exp <= now]:
                del self._data[k]

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, value, ttl)
        return True

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, ttl: float) -> None:
        self._put(key, value, ttl)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def incr(self, key: str, ttl: float) -> int:
        current = self._live(key)
        if current is None:
            self._put(key, "1", ttl)
            return 1
        value = int(current) + 1
        self._data[key] = (str(value), self._data[key][1])
        return value

    async def take_slot(self, key: str, now: float, interval: float) -> float:
        booked = self._live(key)
        if booked is not None and float(booked) > now:
            return float(booked) - now
        self._put(key, repr(now + interval), _slot_ttl(interval))
        return 0.0

    async def acquire_lock(self, key: str, owner: str, ttl: float) -> bool:
        return await self.set_if_absent(key, owner, ttl)

    async def extend_lock(self, key: str, owner: str, ttl: float) -> bool:
        if self._live(key) != owner:
            return False
        self._put(key, owner, ttl)
        return True

    async def release_lock(self, key: str, owner: str) -> bool:
        if self._live(key) != owner:
            return False
        del self._data[key]
        return True

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()


# Compare-and-act scripts: a lock is only extended or released by the owner that holds it.
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
_TAKE_SLOT = """
local booked = tonumber(redis.call('get', KEYS[1]))
local now = tonumber(ARGV[1])
if booked and booked > now then return tostring(booked - now) end
redis.call('set', KEYS[1], tostring(now + tonumber(ARGV[2])), 'px', ARGV[3])
return '0'
"""
_INCR = """
local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
return n
"""


def _ms(ttl: float) -> int:
    return max(1, int(ttl * 1000))


def _slot_ttl(interval: float) -> float:
    """How long a booked slot is kept: past any wait it can cause, whatever the clock."""
    return max(60.0, interval * 2)


class RedisStore:
    """Redis-backed store shared by every instance of a deployment. Its calls raise when
    Redis cannot answer: the app wraps it in a GuardedStore (bot/store_guard.py)."""

    degraded = False

    def __init__(self, url: str, keys: Keys | None = None, timeout: float = 2.0) -> None:
        self.keys = keys or Keys()
        self._redis: Redis = Redis.from_url(
            url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._extend = self._redis.register_script(_EXTEND)
        self._release = self._redis.register_script(_RELEASE)
        self._incr = self._redis.register_script(_INCR)
        self._take_slot = self._redis.register_script(_TAKE_SLOT)

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        return bool(await self._redis.set(key, value, px=_ms(ttl), nx=True))

    async def get(self, key: str) -> str | None:
        value: str | None = await self._redis.get(key)
        return value

    async def set(self, key: str, value: str, ttl: float) -> None:
        await self._redis.set(key, value, px=_ms(ttl))

    async def delete(self, key: str) -> None:
        await self._redis.delete(key)

    async def incr(self, key: str, ttl: float) -> int:
        return int(await self._incr(keys=[key], args=[_ms(ttl)]))

    async def take_slot(self, key: str, now: float, interval: float) -> float:
        wait = await self._take_slot(
            keys=[key], args=[repr(now), repr(interval), _ms(_slot_ttl(interval))]
        )
        return float(wait)

    async def acquire_lock(self, key: str, owner: str, ttl: float) -> bool:
        return await self.set_if_absent(key, owner, ttl)

    async def extend_lock(self, key: str, owner: str, ttl: float) -> bool:
        return bool(await self._extend(keys=[key], args=[owner, _ms(ttl)]))

    async def release_lock(self, key: str, owner: str) -> bool:
        return bool(await self._release(keys=[key], args=[owner]))

    async def ping(self) -> None:
        await asyncio.wait_for(self._redis.ping(), timeout=2.0)

    async def close(self) -> None:
        await self._redis.aclose()
