"""随手拍 sweeps: close the fixes nobody answered; remind, then escalate, what is overdue."""

from __future__ import annotations

from datetime import timedelta

from handlers.reports import lifecycle
from handlers.reports.lifecycle import chase_overdue, close_unanswered
from handlers.tell import Tell
from scheduler.jobs import BATCH, JobContext, in_batches, job


def _reports(tell: Tell) -> lifecycle.Tell:
    return lifecycle.Tell(tell.store, tell.words, tell.push)


@job("close-resolved", "close resolved reports the villager never answered", "*/30 * * * *")
async def close_resolved(jc: JobContext) -> int:
    """随手拍: a resolved report with no 满意/不满意 for bot.report_auto_close_days is
    closed, recorded as closed automatically (not as satisfied); the villager is told."""
    days = jc.settings.bot.report_auto_close_days
    return await in_batches(
        jc,
        lambda store, tell: close_unanswered(store, _reports(tell), jc.now, days, jc.zone, BATCH),
    )


@job("chase-reports", "remind, then escalate, reports past their deadlines", "* * * * *")
async def chase_reports(jc: JobContext) -> int:
    """随手拍: past the accept or resolve deadline, the tier holding the report is reminded
    (the person in charge @mentioned); each scheduler.report_grace_hours more, it goes a
    tier up. Each step once per deadline, on the report's timeline."""
    grace = timedelta(hours=jc.settings.scheduler.report_grace_hours)
    return await in_batches(
        jc, lambda store, tell: chase_overdue(store, _reports(tell), jc.now, grace, BATCH)
    )
