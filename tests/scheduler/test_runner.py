"""The scheduler's runtime: one instance at a time leads (a Redis lock with expiry and
renewal), another takes over when the leader dies or stops; schedules come from each
sweep's default crontab, changed or stopped by configuration."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app import Services
from bot.clock import FixedClock, SystemClock
from bot.config import ConfigError, SchedulerSettings, Settings
from bot.i18n import Translations
from bot.store import Keys, MemoryStore, RedisStore
from scheduler.runner import Scheduler, schedules
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_to_head
from storage.repos import unit_of_work
from tests import sim_support as sim
from tests.conftest import _forget_prefix, _redis_store

pytestmark = pytest.mark.redis
# these sweeps never run: no database is reached
NO_DB = unit_of_work(session_factory(create_engine("sqlite+aiosqlite:///unused.db")))


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    for _ in range(int(within / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not so within {within} s")


@pytest.fixture
async def stores() -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    """Two instances' connections to one Redis, with one key prefix: one deployment."""
    prefix = f"vbtest:{uuid.uuid4().hex[:12]}"
    a, b = await _redis_store(prefix), await _redis_store(prefix)
    yield a, b
    await a.close()
    await b.close()
    await _forget_prefix(prefix)


def instance(kv: RedisStore, lock_seconds: float) -> Scheduler:
    settings = Settings(scheduler=SchedulerSettings(lock_seconds=lock_seconds, renew_seconds=0.1))
    return Scheduler(NO_DB, settings, Translations(), SystemClock(), kv, lambda: None)


async def test_one_instance_leads_and_another_takes_over_when_it_dies(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    first, second = instance(stores[0], 1.0), instance(stores[1], 1.0)
    first.start()
    await until(lambda: first.leading)
    second.start()
    await asyncio.sleep(0.5)  # five tries at the lock
    assert not second.leading
    # the first instance dies: its renewals stop, the lock is never released
    assert first._leadership is not None
    first._leadership.cancel()
    await until(lambda: second.leading)  # when the lock expires, within a second
    await second.stop()
    first.leading = False  # dead: nothing of it to release
    await first.stop()


async def test_a_leader_that_stops_hands_over_at_once(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    # a 60 s lock: the standby can only lead within seconds if the leader let go of it
    first, second = instance(stores[0], 60.0), instance(stores[1], 60.0)
    first.start()
    await until(lambda: first.leading)
    second.start()
    await asyncio.sleep(0.3)
    assert not second.leading
    await first.stop()
    assert not first.leading
    await until(lambda: second.leading, within=2.0)
    await second.stop()


def test_schedules_come_from_the_sweeps_and_the_configuration() -> None:
    default = schedules(Settings())
    assert default["close-resolved"] == "*/30 * * * *"
    changed = schedules(Settings(scheduler=SchedulerSettings(jobs={"close-resolved": ""})))
    assert changed["close-resolved"] == ""
    with pytest.raises(ConfigError, match="no sweep named nightly-poem"):
        schedules(Settings(scheduler=SchedulerSettings(jobs={"nightly-poem": "0 1 * * *"})))


def test_a_bad_crontab_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="not a crontab"):
        SchedulerSettings(jobs={"close-resolved": "every day"})
    settings = Settings(scheduler=SchedulerSettings(jobs={"close-resolved": "0 25 * * *"}))
    kv = MemoryStore(SystemClock(), Keys("vbtest"))
    with pytest.raises(ConfigError, match=r"scheduler\.jobs\.close-resolved"):
        Scheduler(NO_DB, settings, Translations(), SystemClock(), kv, lambda: None)


async def test_a_leading_scheduler_fires_its_sweeps_through_apscheduler(
    client: Any, services: Services, registry: None, clock: FixedClock
) -> None:
    """The whole path: APScheduler's asyncio executor calls the sweep on the loop, the sweep
    runs by the app's clock and takes its step."""
    await sim.enroll(services)
    await sim.say(client, "sim-P1", "村口路灯坏了")
    clock.advance(25 * 3600)  # past the 24-hour accept deadline
    scheduler = services.scheduler
    scheduler.start()
    try:
        await until(lambda: scheduler.leading)
        # fire chase-reports now rather than at the next minute's turn
        scheduler._aps.modify_job("chase-reports", next_run_time=datetime.now(UTC))
        for _ in range(100):
            async with services.uow() as store:
                kinds = [e.kind for e in await store.reports.timeline(1)]
            if "overdue_accept" in kinds:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the sweep did not run: {kinds}")
    finally:
        await scheduler.stop()


async def test_a_sweep_that_fails_is_tried_again_not_left_to_its_next_turn(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The database is not ready at the sweep's turn (here: not migrated yet, as after a
    restore); once it is, the retry runs the sweep, and the operator reads both."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'later.db'}")
    scheduler = Scheduler(
        unit_of_work(session_factory(engine)),
        Settings(),
        Translations(),
        SystemClock(),
        MemoryStore(SystemClock()),
        lambda: None,
    )
    scheduler.retry_seconds = (0.2, 5.0)
    try:
        with caplog.at_level("INFO", logger="scheduler.runner"):
            retrying = asyncio.create_task(scheduler.run_retrying("chase-reports"))
            await until(lambda: "trying again" in caplog.text)
            assert not retrying.done()
            await upgrade_to_head(engine)
            await asyncio.wait_for(retrying, 5)
        assert "sweep chase-reports: ran on try 2" in caplog.text
    finally:
        await engine.dispose()
