"""通知/督办 sweeps: send what was set for later; remind units past a deadline, then their
parent unit."""

from __future__ import annotations

from datetime import timedelta

from bot.media import Links
from handlers.notices.desk import Desk, chase, publish
from handlers.tell import Tell
from scheduler.jobs import BATCH, JobContext, in_batches, job
from storage.repos import Store

PUBLISH_BATCH = 5  # notices per transaction: each may be a push to every group in a county


def _desk(jc: JobContext, store: Store) -> Desk:
    return Desk(jc.tell(store), jc.zone, Links(jc.settings.server.public_url))


@job("publish-notices", "send the notices and tasks set to go out at a later time", "* * * * *")
async def publish_notices(jc: JobContext) -> int:
    """通知/督办 published for later: at their time, to every group they are for. A few per
    transaction, since one county notice is a push to every group in the county."""

    async def due(store: Store, tell: Tell) -> int:
        notices = await store.notices.to_publish(jc.now, PUBLISH_BATCH)
        for notice in notices:
            await publish(_desk(jc, store), notice, jc.now)
        return len(notices)

    return await in_batches(jc, due, PUBLISH_BATCH)


@job("chase-notices", "remind units that missed a notice's or task's deadline", "*/5 * * * *")
async def chase_notices(jc: JobContext) -> int:
    """通知/督办: a unit that has not acknowledged (or completed) by the deadline is
    reminded in its groups; scheduler.notice_grace_hours later, its parent unit's groups are
    told. Each once: the row records its step."""
    grace = timedelta(hours=jc.settings.scheduler.notice_grace_hours)

    async def late(store: Store, tell: Tell) -> int:
        targets = await store.notices.chase_due(jc.now, BATCH)
        for target in targets:
            await chase(_desk(jc, store), target, jc.now, grace)
        return len(targets)

    return await in_batches(jc, late)
