"""What every sweep shares: the context it runs in (a unit of work, the settings, the words,
the time it is told it is), the registry of sweeps by name, and the batching.

Each sweep reads the time it is given (never the wall clock), finds what is due with an
indexed query, changes it and queues its pushes in one transaction per batch, and records
what it did, so running it twice does nothing twice. The sweeps themselves are in
scheduler/sweeps/, one module per feature; `villagebot run-job NAME [--at TIME]` runs one
now, the scheduler runs them on their schedules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.i18n import Translations
from bot.message import Push
from bot.outbox import URGENT, enqueue
from handlers.tell import Tell
from storage.repos import Store, UnitOfWork

BATCH = 500


@dataclass(frozen=True, slots=True)
class JobContext:
    uow: UnitOfWork
    settings: Settings
    translations: Translations
    now: datetime
    # the real time pushes may leave from when a sweep is run as if at another time
    # (`run-job --at`); None: `now`
    send_from: datetime | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.bot.timezone)

    def tell(self, store: Store) -> Tell:
        """Words in each recipient's language, pushed through the outbox in `store`'s
        transaction."""

        def words(locale: str | None, key: str, **values: Any) -> str:
            return self.translations.for_locale(locale).t(key, **values)

        def push(message: Push, purpose: str) -> None:
            # villagers and elders are not woken for what can wait; alerts never wait
            deferrable = purpose == "checkin" or (not message.is_group and purpose != URGENT)
            later = quiet_until(self.now, self.settings) if deferrable else None
            enqueue(store, message, self.now, purpose, later or self.send_from)

        return Tell(store, words, push)


def quiet_until(now: datetime, settings: Settings) -> datetime | None:
    """The end of the quiet hours (scheduler.quiet_hours, local time) if `now` is inside
    them, else None."""
    if not settings.scheduler.quiet_hours:
        return None
    start, end = (time.fromisoformat(t) for t in settings.scheduler.quiet_hours.split("-"))
    zone = ZoneInfo(settings.bot.timezone)
    local = now.astimezone(zone)
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


JobFn = Callable[[JobContext], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    description: str
    schedule: str  # crontab, in the configured time zone; scheduler.jobs may change it
    run: JobFn


JOBS: dict[str, Job] = {}


def job(name: str, description: str, schedule: str) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        JOBS[name] = Job(name, description, schedule, fn)
        return fn

    return register


Batch = Callable[[Store, Tell], Awaitable[int]]  # one batch in one transaction -> items done


async def in_batches(jc: JobContext, batch: Batch, size: int = BATCH) -> int:
    """Run `batch` in its own transaction until one does less than `size` items."""
    total = 0
    while True:
        async with jc.uow() as store:
            done = await batch(store, jc.tell(store))
        total += done
        if done < size:
            return total
