"""三务公开 sweeps: the monthly reminder of the finance disclosure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from handlers.disclosure.period import Period, month_before
from handlers.disclosure.reminding import JOB, remind_finance
from scheduler.jobs import JobContext, job
from storage.models import Level, OrgUnit

VILLAGES_PER_BATCH = 1000  # whole townships, about this many villages a transaction

Township = tuple[OrgUnit | None, list[OrgUnit]]  # a township (None: no township) and its villages


@job(JOB, "villages without last month's finance disclosure reminded", "0 9 11 * *")
async def remind(jc: JobContext) -> int:
    """财务公开 is due by the 10th for the month before: on the morning of the 11th (by
    default; operators set another crontab as scheduler.jobs."remind-finance" in the
    config) each village with no finance disclosure covering last month (in bot.timezone)
    gets one reminder in its cadre group, and each township one list of its villages that
    have none. Each once a month, marked in the transaction of its push, so a second run
    sends nothing. Returns how many pushes were queued."""
    month = month_before(jc.now.astimezone(jc.zone).date())
    async with jc.uow() as store:
        units = await store.org.all()
    pushes = 0
    for batch in _batches(_townships(units)):
        pushes += await _remind(jc, batch, month)
    return pushes


def _townships(units: Sequence[OrgUnit]) -> list[Township]:
    """Every village under its township (a village right under a county: under none)."""
    by_id = {u.id: u for u in units}
    under: defaultdict[int | None, list[OrgUnit]] = defaultdict(list)
    for unit in units:
        parent = by_id.get(unit.parent_id) if unit.parent_id is not None else None
        if unit.level is Level.VILLAGE:
            under[parent.id if parent and parent.level is Level.TOWNSHIP else None].append(unit)
    return [(by_id[t] if t is not None else None, v) for t, v in under.items()]


def _batches(townships: list[Township]) -> Iterator[list[Township]]:
    batch: list[Township] = []
    for township in townships:
        batch.append(township)
        if sum(len(villages) for _, villages in batch) >= VILLAGES_PER_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def _remind(jc: JobContext, batch: list[Township], month: Period) -> int:
    async with jc.uow() as store:
        tell = jc.tell(store)
        return sum(
            [
                await remind_finance(tell, township, villages, month, jc.now)
                for township, villages in batch
            ]
        )
