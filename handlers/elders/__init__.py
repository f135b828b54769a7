"""关爱空巢老人: an elder's every message says they are well; 平安 / 签到 say it on purpose, a
caretaker's 已上门 says it for them. Silence past the elder's threshold raises an alert (the
sweep's), which climbs from the caretakers to the village secretary to the township group
until someone visits; 救命 / 求助 / 摔倒 raise one at once, to everyone on the ladder.

One alert per elder is open at a time. The elder's own word closes a quiet alert and tells
everyone it reached ("老人已报平安"); an SOS closes only with a visit (已上门).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from handlers.tell import Tell, span
from storage.models import (
    CADRE_ROLES,
    AlertKind,
    ContactRelation,
    ElderAlert,
    ElderCare,
    Person,
    Role,
    RoleAssignment,
)

log = logging.getLogger(__name__)
router = Router(name="elders")


@dataclass(frozen=True, slots=True)
class Care:
    """What the alerts need besides the transaction: the local time zone and the wait
    before an alert climbs a step."""

    tell: Tell
    zone: ZoneInfo
    ack: timedelta

    @classmethod
    def of(cls, ctx: Context) -> Care:
        return cls(
            Tell.of(ctx),
            ZoneInfo(ctx.settings.timezone),
            timedelta(hours=ctx.settings.elder_ack_hours),
        )

    def at(self, when: datetime) -> str:
        return when.astimezone(self.zone).strftime("%m-%d %H:%M")


# --- what people send ------------------------------------------------------------------------


@router.observe
async def watch(msg: InboundMessage, ctx: Context) -> Reply | None:
    """Every message from an elder, addressed to the bot or not: they are active; with an
    SOS word, an urgent alert to everyone on the ladder, at once."""
    person = ctx.person
    if person is None or not person.is_elder:
        return None
    care = Care.of(ctx)
    now = ctx.clock.now()
    if any(word in msg.text for word in ctx.settings.elder_sos_words):
        await sos(care, person.id, msg.text.strip(), now)
        return ctx.reply("elder.sos_reply")
    await heard_from(care, person.id, now, by=None, note="")
    return None


@router.message(
    Command("平安", "签到", "check in"), roles={Role.VILLAGER}, menu="menu.checkin", menu_order=60
)
async def check_in(msg: InboundMessage, ctx: Context) -> Reply:
    """An elder's 平安 (the activity itself was noted by `watch`)."""
    assert ctx.person is not None
    return ctx.reply("elder.checkin_ok", name=ctx.person.name)


@router.message(
    Command("已上门", "visited"), roles={Role.VILLAGER}, menu="menu.visit", menu_order=61
)
async def visited(msg: InboundMessage, ctx: Context) -> Reply:
    """已上门 12 身体很好 (an alert's number) or 已上门 孙大爷 平安 (an elder's name), by a
    caretaker, family or a cadre of the elder's village or above."""
    assert ctx.person is not None
    what, _, note = ctx.args.strip().partition(" ")
    note = note.strip() or ctx.t("elder.visit_default_note")
    if not what:
        return ctx.reply("elder.visit_usage")
    elder_id = await _elder_of(ctx, what)
    if elder_id is None:
        return ctx.reply("elder.visit_unknown", what=what)
    elder = await ctx.store.people.get(elder_id)
    assert elder is not None
    if not await _may_visit(ctx, elder):
        return ctx.reply("elder.visit_not_yours", name=elder.name)
    by = await ctx.store.people.get(ctx.person.id)
    assert by is not None
    closed = await heard_from(Care.of(ctx), elder.id, ctx.clock.now(), by=by, note=note)
    if closed is None:
        return ctx.reply("elder.visit_noted", name=elder.name, note=note)
    return ctx.reply("elder.visit_closed", number=closed.id, name=elder.name, note=note)


async def _elder_of(ctx: Context, what: str) -> int | None:
    number = what.lstrip("#＃")
    if number.isdigit():
        alert = await ctx.store.elders.alert(int(number))
        return alert.elder_id if alert is not None else None
    named = await ctx.store.elders.elders_named(what)
    return named[0].id if named else None


async def _may_visit(ctx: Context, elder: Person) -> bool:
    """The elder's caretakers and family, and cadres of the elder's grid, village or above."""
    assert ctx.person is not None
    if any(p.id == ctx.person.id for p, _ in await ctx.store.elders.contacts(elder.id)):
        return True
    serving = {a.org_unit_id for a in ctx.assignments if a.role in CADRE_ROLES}
    unit_id = elder.grid_id or elder.village_id
    while unit_id is not None:
        if unit_id in serving:
            return True
        unit = await ctx.store.org.get(unit_id)
        unit_id = unit.parent_id if unit is not None else None
    return False


# --- the alerts ------------------------------------------------------------------------------


async def heard_from(
    care: Care, elder_id: int, now: datetime, *, by: Person | None, note: str
) -> ElderAlert | None:
    """The elder is well as of `now`: by their own word (`by` None) or a visit. Closes the
    open alert (an SOS only by a visit) and tells everyone it reached; returns it."""
    store = care.tell.store
    watch = await store.elders.care(elder_id, lock=True)
    alert = await store.elders.open_alert(elder_id)
    closed = None
    if alert is not None and (by is not None or alert.kind is AlertKind.INACTIVE):
        alert.closed_at, alert.closed_by, alert.next_at = now, by.id if by else None, None
        alert.note = note[:200]
        closed, alert = alert, None
        elder = await store.people.get(elder_id)
        assert elder is not None
        how = (
            care.tell.text(None, "elder.how_self")
            if by is None
            else care.tell.text(None, "elder.how_visit", who=by.name, note=closed.note)
        )
        values = {"number": closed.id, "name": elder.name, "how": how}
        await _village_groups(care, elder, "elder.safe_group", (), **values)
        if closed.kind is AlertKind.SOS or closed.step >= 2:
            await _township_groups(care, elder, "elder.safe_group", **values)
        await _family(care, elder, "elder.safe_family", **values)
    if watch is not None:
        watch.last_active_at = now
        # watched again from now; not while an SOS waits for its visit
        watch.watch_at = None if alert is not None else now + timedelta(hours=watch.inactive_hours)
    return closed


async def sos(care: Care, elder_id: int, text: str, now: datetime) -> ElderAlert:
    """An elder called for help: everyone on the ladder at once (caretakers and the village
    secretary @mentioned in the village cadre group, the township group, the family)."""
    store = care.tell.store
    elder = await store.people.get(elder_id)
    assert elder is not None
    alert = await store.elders.open_alert(elder_id)
    if alert is None:
        alert = await store.elders.add_alert(
            ElderAlert(
                elder_id=elder_id,
                kind=AlertKind.SOS,
                opened_at=now,
                last_active_at=now,
                step=2,
                next_at=None,
                note="",
            )
        )
    alert.kind, alert.step, alert.next_at = AlertKind.SOS, 2, None
    watch = await store.elders.care(elder_id, lock=True)
    if watch is not None:
        watch.last_active_at, watch.watch_at = now, None
    mention = [p.id for p in await _caretakers(care, elder)] + await _secretaries(care, elder)
    values = {"number": alert.id, "name": elder.name, "text": text[:100]}
    values["village"] = await _village_name(care, elder)
    await _village_groups(care, elder, "elder.sos_group", mention, **values)
    await _township_groups(care, elder, "elder.sos_group", **values)
    await _family(care, elder, "elder.sos_family", **values)
    log.warning("SOS from elder %d: alert %d", elder_id, alert.id)
    return alert


async def raise_quiet(care: Care, watch: ElderCare, now: datetime) -> ElderAlert | None:
    """The elder has been quiet past their threshold: an alert to the caretakers
    (@mentioned in the village cadre group) and the family (1:1)."""
    store = care.tell.store
    watch.watch_at = None  # until the alert closes
    elder = await store.people.get(watch.person_id)
    if elder is None or not elder.is_elder:
        return None
    alert = await store.elders.add_alert(
        ElderAlert(
            elder_id=elder.id,
            kind=AlertKind.INACTIVE,
            opened_at=now,
            last_active_at=watch.last_active_at,
            step=0,
            next_at=now + care.ack,
            note="",
        )
    )
    values = await _alert_values(care, alert, elder, now)
    caretakers = [p.id for p in await _caretakers(care, elder)]
    await _village_groups(care, elder, "elder.alert_caretakers", caretakers, **values)
    await _family(care, elder, "elder.alert_family", **values)
    return alert


async def climb(care: Care, alert: ElderAlert, now: datetime) -> None:
    """Nobody visited within the wait: the next step of the ladder (the village secretary,
    then the township group); then the ladder is done."""
    store = care.tell.store
    elder = await store.people.get(alert.elder_id)
    assert elder is not None
    values = await _alert_values(care, alert, elder, now)
    values["waited"] = span(care.tell, now - alert.opened_at)
    if alert.step == 0:
        secretaries = await _secretaries(care, elder)
        await _village_groups(care, elder, "elder.alert_secretary", secretaries, **values)
        alert.step, alert.next_at = 1, now + care.ack
    else:
        await _township_groups(care, elder, "elder.alert_township", **values)
        alert.step, alert.next_at = 2, None


async def _alert_values(
    care: Care, alert: ElderAlert, elder: Person, now: datetime
) -> dict[str, object]:
    return {
        "number": alert.id,
        "name": elder.name,
        "village": await _village_name(care, elder),
        "quiet": span(care.tell, now - alert.last_active_at),
        "last": care.at(alert.last_active_at),
    }


# --- who hears it ----------------------------------------------------------------------------


async def _village_name(care: Care, elder: Person) -> str:
    unit = await care.tell.store.org.get(elder.village_id) if elder.village_id else None
    return unit.name if unit is not None else ""


async def _caretakers(care: Care, elder: Person) -> list[Person]:
    contacts = await care.tell.store.elders.contacts(elder.id)
    return [p for p, relation in contacts if relation is ContactRelation.CARETAKER]


async def _secretaries(care: Care, elder: Person) -> list[int]:
    if elder.village_id is None:
        return []
    cadres: Sequence[tuple[Person, RoleAssignment]] = await care.tell.store.reports.cadres(
        [elder.village_id]
    )
    return [p.id for p, a in cadres if a.role is Role.VILLAGE_SECRETARY]


async def _village_groups(
    care: Care, elder: Person, key: str, mention: Sequence[int], **values: object
) -> None:
    if elder.village_id is not None:
        await _groups(care, elder.village_id, key, mention, **values)


async def _township_groups(care: Care, elder: Person, key: str, **values: object) -> None:
    village = await care.tell.store.org.get(elder.village_id) if elder.village_id else None
    if village is not None and village.parent_id is not None:
        await _groups(care, village.parent_id, key, (), **values)


async def _groups(
    care: Care, unit_id: int, key: str, mention: Sequence[int], **values: Any
) -> None:
    await care.tell.groups(unit_id, key, purpose="alert", mention=mention, **values)


async def _family(care: Care, elder: Person, key: str, **values: object) -> None:
    contacts = await care.tell.store.elders.contacts(elder.id)
    for person, relation in contacts:
        if relation is ContactRelation.FAMILY:
            await care.tell.person(person, key, "alert", **values)
