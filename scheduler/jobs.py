"""The sweeps, by name. Each reads the time it is given (never the wall clock), finds what is
due with an indexed query, changes it and queues its pushes in one transaction per batch, and
records what it did, so running it twice does nothing twice.

`villagebot run-job NAME [--at TIME]` runs one now; the scheduler runs them on their
schedules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.i18n import Translations
from bot.message import Push
from bot.outbox import enqueue
from handlers.reports.lifecycle import Tell, chase_overdue, close_unanswered
from storage.repos import Store, UnitOfWork

BATCH = 500


@dataclass(frozen=True, slots=True)
class JobContext:
    uow: UnitOfWork
    settings: Settings
    translations: Translations
    now: datetime

    def tell(self, store: Store) -> Tell:
        """Words in each recipient's language, pushed through the outbox in `store`'s
        transaction."""

        def words(locale: str | None, key: str, **values: Any) -> str:
            return self.translations.for_locale(locale).t(key, **values)

        def push(message: Push, purpose: str) -> None:
            enqueue(store, message, self.now, purpose)

        return Tell(store, words, push)


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


async def in_batches(jc: JobContext, batch: Batch) -> int:
    """Run `batch` in its own transaction until one does less than BATCH items."""
    total = 0
    while True:
        async with jc.uow() as store:
            done = await batch(store, jc.tell(store))
        total += done
        if done < BATCH:
            return total


@job("close-resolved", "close resolved reports the villager never answered", "*/30 * * * *")
async def close_resolved(jc: JobContext) -> int:
    """随手拍: a resolved report with no 满意/不满意 for bot.report_auto_close_days is
    closed, recorded as closed automatically (not as satisfied); the villager is told."""
    days = jc.settings.bot.report_auto_close_days
    return await in_batches(
        jc, lambda store, tell: close_unanswered(store, tell, jc.now, days, BATCH)
    )


@job("chase-reports", "remind, then escalate, reports past their deadlines", "* * * * *")
async def chase_reports(jc: JobContext) -> int:
    """随手拍: past the accept or resolve deadline, the tier holding the report is reminded
    (the person in charge @mentioned); each scheduler.report_grace_hours more, it goes a
    tier up. Each step once per deadline, on the report's timeline."""
    grace = timedelta(hours=jc.settings.scheduler.report_grace_hours)
    return await in_batches(
        jc, lambda store, tell: chase_overdue(store, tell, jc.now, grace, BATCH)
    )
