"""The monthly finance reminder: a village that has not published last month's 财务公开 is
reminded in its cadre group, and its township told which of its villages have not.

Each once per month: a mark in the transaction that queues the push.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from handlers.disclosure.period import Period
from handlers.tell import Tell
from storage.models import OrgUnit

log = logging.getLogger(__name__)

JOB = "remind-finance"


async def remind_finance(
    tell: Tell,
    township: OrgUnit | None,
    villages: Sequence[OrgUnit],
    month: Period,
    now: datetime,
) -> int:
    """Remind those of the villages (all of one township, or of none) with no finance
    disclosure covering `month`, and tell the township which they are. Returns how many
    pushes were queued."""
    store = tell.store
    key = month.start.strftime("%Y-%m")
    published = await store.disclosures.finance_covering([v.id for v in villages], month.start)
    missing = [v for v in villages if v.id not in published]
    if not missing:
        return 0
    done = await store.sweeps.marked(JOB, [f"{key}:village:{v.id}" for v in missing])
    shown = month.shown(lambda k, **v: tell.text(None, k, **v))
    reminded = [
        v
        for v in missing
        if f"{key}:village:{v.id}" not in done
        and await store.sweeps.mark(JOB, f"{key}:village:{v.id}", now)
    ]
    pushes = await tell.broadcast(
        [v.id for v in reminded], "disclosure.remind_village", purpose="disclosure", month=shown
    )
    if township is not None and await store.sweeps.mark(JOB, f"{key}:township:{township.id}", now):
        pushes += await tell.groups(
            township.id,
            "disclosure.remind_township",
            purpose="disclosure",
            count=len(missing),
            villages=tell.text(None, "disclosure.name_separator").join(v.name for v in missing),
            month=shown,
        )
    if reminded:
        log.info("finance disclosure of %s: %d villages reminded", key, len(reminded))
    return pushes
