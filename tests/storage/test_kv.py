"""The key-value store, on Redis and in process: the same behaviour from both."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.clock import FixedClock
from bot.store import Keys, KeyValue, MemoryStore, RedisStore


async def let_expire(kv: KeyValue, clock: FixedClock, seconds: float) -> None:
    """Let `seconds` pass: the in-process store follows the injected clock, Redis real time."""
    if isinstance(kv, MemoryStore):
        clock.advance(seconds)
    else:
        await asyncio.sleep(seconds)


async def test_set_if_absent_is_first_come_until_it_expires(
    kv: KeyValue, clock: FixedClock
) -> None:
    key = kv.keys.dedup("oa", "m1")
    assert await kv.set_if_absent(key, "1", 0.3) is True
    assert await kv.set_if_absent(key, "2", 0.3) is False
    assert await kv.get(key) == "1"
    await let_expire(kv, clock, 0.4)
    assert await kv.get(key) is None
    assert await kv.set_if_absent(key, "3", 0.3) is True


async def test_get_set_delete_and_state_expiry(kv: KeyValue, clock: FixedClock) -> None:
    key = kv.keys.state("oa", "chat", "user")
    assert await kv.get(key) is None
    await kv.set(key, '{"name": "x"}', 0.3)
    assert await kv.get(key) == '{"name": "x"}'
    await kv.set(key, "replaced", 0.3)
    assert await kv.get(key) == "replaced"
    await kv.delete(key)
    assert await kv.get(key) is None
    await kv.delete(key)  # deleting what is gone is harmless
    await kv.set(key, "short-lived", 0.3)
    await let_expire(kv, clock, 0.4)
    assert await kv.get(key) is None


async def test_counter_window_starts_at_the_first_increment(
    kv: KeyValue, clock: FixedClock
) -> None:
    key = kv.keys.rate("oa", "flooder", 1)
    assert [await kv.incr(key, 0.5) for _ in range(3)] == [1, 2, 3]
    await let_expire(kv, clock, 0.3)
    assert await kv.incr(key, 0.5) == 4  # later increments do not push the expiry back
    await let_expire(kv, clock, 0.3)
    assert await kv.incr(key, 0.5) == 1  # the window is over: a fresh count


async def test_lock_belongs_to_its_owner(kv: KeyValue, clock: FixedClock) -> None:
    key = kv.keys.lock("scheduler")
    assert await kv.acquire_lock(key, "a", 0.4) is True
    assert await kv.acquire_lock(key, "b", 0.4) is False
    assert await kv.extend_lock(key, "b", 0.4) is False
    assert await kv.release_lock(key, "b") is False
    assert await kv.get(key) == "a"  # b's attempts changed nothing
    await let_expire(kv, clock, 0.2)
    assert await kv.extend_lock(key, "a", 0.4) is True
    await let_expire(kv, clock, 0.3)  # 0.5 s after acquiring: alive thanks to the extension
    assert await kv.acquire_lock(key, "b", 0.4) is False
    assert await kv.release_lock(key, "a") is True
    assert await kv.acquire_lock(key, "b", 0.4) is True
    await let_expire(kv, clock, 0.5)
    assert await kv.extend_lock(key, "b", 0.4) is False  # expired: nothing left to extend
    assert await kv.acquire_lock(key, "a", 0.4) is True


async def test_ping_answers(kv: KeyValue) -> None:
    await kv.ping()


async def test_prefixes_keep_deployments_apart(clock: FixedClock) -> None:
    a, b = Keys("villageA"), Keys("villageB")
    assert a.dedup("oa", "1") != b.dedup("oa", "1")
    assert a.state("oa", "c", "u").startswith("villageA:")
    shared = MemoryStore(clock, a)
    assert await shared.set_if_absent(a.dedup("oa", "1"), "x", 60) is True
    assert await shared.set_if_absent(b.dedup("oa", "1"), "x", 60) is True


@pytest.mark.redis
async def test_unreachable_redis_fails_fast_with_a_connection_error() -> None:
    store = RedisStore("redis://127.0.0.1:1/0", timeout=0.5)
    try:
        with pytest.raises(RedisConnectionError):
            await store.ping()
    finally:
        await store.close()


async def test_slots_book_one_event_per_interval_by_the_callers_clock(kv: KeyValue) -> None:
    key = kv.keys.send_slot("ding", "group-1")
    t = 1_700_000_000.0
    assert await kv.take_slot(key, t, 3.0) == 0.0
    assert await kv.take_slot(key, t + 1.0, 3.0) == pytest.approx(2.0)
    assert await kv.take_slot(key, t + 2.5, 3.0) == pytest.approx(0.5)
    assert await kv.take_slot(key, t + 3.0, 3.0) == 0.0  # the next slot, booked again
    assert await kv.take_slot(key, t + 4.0, 3.0) == pytest.approx(2.0)
    other = kv.keys.send_slot("ding", "group-2")
    assert await kv.take_slot(other, t + 4.0, 3.0) == 0.0  # targets are independent
