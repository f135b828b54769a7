"""政策咨询 sweeps: the 24-hour rule for villagers' questions."""

from __future__ import annotations

from datetime import timedelta

from handlers.policy.chasing import chase_questions
from scheduler.jobs import BATCH, JobContext, in_batches, job


@job("chase-questions", "chase questions past their 24 hours", "* * * * *")
async def chase(jc: JobContext) -> int:
    """政策咨询: a question not answered by its deadline (24 hours) is a reminder to the
    unit holding it; each scheduler.report_grace_hours more, the next tier up is told
    (township, then county), as reports climb. Each step once, recorded on the question."""
    grace = timedelta(hours=jc.settings.scheduler.report_grace_hours)
    return await in_batches(
        jc, lambda store, tell: chase_questions(store, tell, jc.now, grace, BATCH)
    )
