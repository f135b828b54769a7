"""积分 sweeps: on the 1st of each month, last month's 红榜/黑榜 drafted for each village's
cadres (published to villagers only by them)."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.points.boards import draft_boards
from scheduler.jobs import JobContext, job
from storage.models import Level

VILLAGES_PER_BATCH = 1000  # a district's villages in one transaction: two grouped queries


def last_month(now: datetime, jc: JobContext) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month before `now`'s, where the villages are."""
    local = now.astimezone(jc.zone)
    end = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (end - timedelta(days=1)).replace(day=1)
    return start, end


@job("points-boards", "last month's points boards drafted for each village's cadres", "0 8 1 * *")
async def boards(jc: JobContext) -> int:
    since, until = last_month(jc.now, jc)
    async with jc.uow() as store:
        villages = [u for u in await store.org.all() if u.level is Level.VILLAGE]
    drafted = 0
    for i in range(0, len(villages), VILLAGES_PER_BATCH):
        async with jc.uow() as store:
            batch = villages[i : i + VILLAGES_PER_BATCH]
            drafted += await draft_boards(jc.tell(store), batch, since, until, jc.now)
    return drafted
