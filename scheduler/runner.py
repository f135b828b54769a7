"""The scheduler: APScheduler fires each sweep on its crontab (in the configured time zone),
on the one instance that holds the leader lock.

The lock lives in the key-value store (Redis when configured) with an expiry; the leader
renews it every `renew_seconds`, a standby tries to take it as often, so when the leader dies
another instance leads within `lock_seconds + renew_seconds`. Losing the lock (or Redis)
pauses the sweeps. Two instances briefly both leading is harmless: every sweep records what
it did and does nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.clock import Clock
from bot.config import ConfigError, Settings
from bot.i18n import Translations
from bot.store import KeyValue
from bot.tasks import TaskSet
from scheduler.jobs import JobContext
from scheduler.sweeps import JOBS
from storage.repos import UnitOfWork

log = logging.getLogger(__name__)
# APScheduler logs every job added and every run at INFO; ours says what a sweep did
logging.getLogger("apscheduler").setLevel(logging.WARNING)

MISFIRE_GRACE_SECONDS = 3600  # a sweep missed by a restart or a change of leader still runs
# A sweep that fails (the database away for a moment) is tried again after each of these,
# not left to its next turn: a day's 09:00 check-in prompts must not be lost to a blip.
# Every sweep records its steps, so running one again does nothing twice.
RETRY_SECONDS = (15.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def schedules(settings: Settings) -> dict[str, str]:
    """Each sweep's crontab: its default, or the one configured ("" stops it)."""
    unknown = sorted(set(settings.scheduler.jobs) - set(JOBS))
    if unknown:
        raise ConfigError(f"scheduler.jobs: no sweep named {', '.join(unknown)}")
    return {name: settings.scheduler.jobs.get(name, job.schedule) for name, job in JOBS.items()}


class Scheduler:
    def __init__(
        self,
        uow: UnitOfWork,
        settings: Settings,
        translations: Translations,
        clock: Clock,
        kv: KeyValue,
        wake: Callable[[], None],
    ) -> None:
        self._uow = uow
        self._settings = settings
        self._translations = translations
        self._clock = clock
        self._kv = kv
        self._wake = wake
        self._key = kv.keys.lock("scheduler")
        self._owner = secrets.token_hex(8)
        self._tasks = TaskSet()
        self._busy: set[str] = set()
        self._leadership: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.retry_seconds: tuple[float, ...] = RETRY_SECONDS
        self.leading = False
        zone = ZoneInfo(settings.bot.timezone)
        self._aps = AsyncIOScheduler(timezone=zone)
        for name, crontab in schedules(settings).items():
            if not crontab:
                continue
            try:
                trigger = CronTrigger.from_crontab(crontab, timezone=zone)
            except ValueError as exc:
                raise ConfigError(f"scheduler.jobs.{name}: {exc}") from exc
            self._aps.add_job(
                self._fire,
                trigger,
                args=[name],
                id=name,
                name=f"sweep {name}",
                coalesce=True,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
            )

    def start(self) -> None:
        self._aps.start(paused=True)  # until this instance leads
        self._leadership = asyncio.create_task(self._lead(), name="scheduler leadership")

    async def stop(self) -> None:
        self._stopping.set()  # a sweep waiting to be tried again gives up now
        if self._leadership is not None:
            self._leadership.cancel()
            await asyncio.gather(self._leadership, return_exceptions=True)
        if self._aps.running:
            self._aps.shutdown(wait=False)
        await self._tasks.drain()  # a sweep mid-batch finishes its transaction
        if self.leading:
            self.leading = False
            try:
                await self._kv.release_lock(self._key, self._owner)  # a standby leads at once
            except Exception:
                log.exception("scheduler: could not release the leader lock; it expires")

    async def _lead(self) -> None:
        cfg = self._settings.scheduler
        while True:
            try:
                if self.leading:
                    held = await self._kv.extend_lock(self._key, self._owner, cfg.lock_seconds)
                else:
                    held = await self._kv.acquire_lock(self._key, self._owner, cfg.lock_seconds)
            except Exception:
                log.exception("scheduler: the leader lock cannot be reached; sweeps paused")
                held = False
            if held and not self.leading:
                self._aps.resume()
                upcoming = ", ".join(f"{n} {t:%m-%d %H:%M}" for n, t in self.next_runs().items())
                log.info("scheduler: this instance leads; next: %s", upcoming)
            elif self.leading and not held:
                log.warning("scheduler: leadership lost; sweeps paused here")
                self._aps.pause()
            self.leading = held
            await asyncio.sleep(cfg.renew_seconds)

    def next_runs(self) -> dict[str, datetime]:
        """When each scheduled sweep fires next (in the configured time zone)."""
        return {j.id: j.next_run_time for j in self._aps.get_jobs() if j.next_run_time}

    async def _fire(self, name: str) -> None:
        # a coroutine, so APScheduler's asyncio executor calls it on the loop (a plain
        # function would be sent to a thread pool, where there is no loop)
        if name in self._busy:  # the last run is still going: this one would find nothing new
            log.warning("sweep %s: still running, this round skipped", name)
            return
        self._tasks.spawn(self.run_retrying(name), name=f"sweep {name}")

    async def run_retrying(self, name: str) -> None:
        """Run a sweep at its turn; if it fails, again after each of `retry_seconds`."""
        for attempt, wait in enumerate((*self.retry_seconds, None), start=1):
            try:
                await self.run(name)
            except Exception as exc:
                if wait is None:
                    log.exception("sweep %s failed %d times; next at its turn", name, attempt)
                    return
                log.warning("sweep %s failed (%r); trying again in %.0f s", name, exc, wait)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), wait)
                    return  # stopping
                continue
            if attempt > 1:
                log.info("sweep %s: ran on try %d", name, attempt)
            return

    async def run(self, name: str) -> int:
        """Run one sweep now, by the injected clock; what it queued is sent at once."""
        self._busy.add(name)
        try:
            context = JobContext(self._uow, self._settings, self._translations, self._clock.now())
            done = await JOBS[name].run(context)
        finally:
            self._busy.discard(name)
        if done:
            log.info("sweep %s: %d done", name, done)
            self._wake()
        return done
