"""The 24-hour rule's ladder for villagers' questions (the sweep chase-questions): at the
deadline the unit holding the question is reminded; each grace period more, the tier
above it is told (township, then county). Each step once, recorded on the question in the
transaction that queues the pushes, so a second run finds nothing to do."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from handlers.tell import Tell, span
from storage.models import Question
from storage.repos import Store

log = logging.getLogger(__name__)


async def chase_questions(
    store: Store, tell: Tell, now: datetime, grace: timedelta, limit: int = 500
) -> int:
    steps = 0
    for question in await store.policy.overdue(now, limit):
        late = span(tell, now - question.due_at)
        if not await _step(store, tell, question, late):
            question.chase_at = None  # the top tier has been told: nothing more to climb
            continue
        question.chase_step += 1
        question.chase_at = now + grace
        steps += 1
    if steps:
        log.info("overdue questions: %d ladder steps taken", steps)
    return steps


async def _step(store: Store, tell: Tell, question: Question, late: str) -> bool:
    """Step 0 reminds the holding unit; step n tells the unit n tiers above it. False when
    there is no unit that high."""
    village = await store.org.get(question.village_id)
    asker = await store.people.get(question.asker_id)
    values: dict[str, Any] = {
        "number": question.id,
        "village": village.name if village else "",
        "name": asker.name if asker else "",
        "text": question.text,
        "late": late,
    }
    chain = await store.org.lineage(question.unit_id)
    if question.chase_step >= len(chain):
        return False
    if question.chase_step == 0:
        await tell.groups(question.unit_id, "policy.overdue", purpose="question", **values)
        return True
    above = chain[question.chase_step]
    holder = chain[0]
    await tell.groups(
        above.id, "policy.overdue_above", purpose="question", unit=holder.name, **values
    )
    return True
