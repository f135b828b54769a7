"""Points the bot's own events earn, each once (the event is the entry's source): a 随手拍
report confirmed fixed (满意) or closed after its fix went unanswered gives the reporter's
household `有效上报`; a caretaker's visit to an elder living alone (已上门) gives theirs
`关爱老人`. Both held to the rule's monthly cap; a deployment whose rules lack them gives none."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.points.ledger import credit
from handlers.points.rules import How, rules
from storage.repos import Store

REPORT_CONFIRMED = "有效上报"
ELDER_VISITED = "关爱老人"


async def earn(
    store: Store, person_id: int, rule_name: str, source: str, at: datetime, zone: ZoneInfo
) -> int | None:
    """The rule's points for the person's household, once for this source. The points
    entered (0: the month's cap is reached); None when nothing could be (no such rule, no
    household, or the source has earned already)."""
    person = await store.people.get(person_id)
    if person is None or person.household_id is None or person.village_id is None:
        return None
    rule = (await rules(store, person.village_id)).find(rule_name, how=How.AUTO)
    if rule is None:
        return None
    return await credit(
        store,
        household_id=person.household_id,
        village_id=person.village_id,
        rule=rule,
        at=at,
        zone=zone,
        actor_id=None,
        source=source,
    )
