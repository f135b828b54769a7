"""The alerts about an elder and who hears them: the quiet-alert's ladder (caretakers, then
the village secretary, then the township), the SOS to everyone at once, and the close that
tells everyone an alert reached. Each alert names in words who is expected to act (an
@mention alone is hidden on some phones), and tells the village cadre group which family
members the bot could not reach, with their masked phone, so that someone calls them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.outbox import URGENT
from handlers.tell import Tell, span
from storage.models import (
    AlertKind,
    ContactRelation,
    ElderAlert,
    ElderCare,
    Person,
    Role,
)

log = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class Reached:
    """Who an SOS reached, for the elder's answer: only what is true."""

    caretakers: bool
    cadres: bool
    township: bool
    family: bool


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
        watch.last_active_at = watch.heard_at = now
        # watched again from now; not while an SOS waits for its visit
        watch.watch_at = None if alert is not None else now + timedelta(hours=watch.inactive_hours)
    return closed


async def sos(care: Care, elder_id: int, text: str, now: datetime) -> Reached:
    """An elder called for help: everyone on the ladder at once (caretakers and the village
    secretary named and @mentioned in the village cadre group, the township group, the
    family 1:1). Returns who was reached."""
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
        watch.last_active_at, watch.heard_at, watch.watch_at = now, now, None
    caretakers = await _caretakers(care, elder)
    act = caretakers + await _secretaries(care, elder)
    values: dict[str, Any] = {"number": alert.id, "name": elder.name, "text": text[:100]}
    values["village"] = await _village_name(care, elder)
    told, missed = await _family(care, elder, "elder.sos_family", **values)
    values |= {"who": _who(care, act), "unreached": _unreached(care, missed)}
    village = await _village_groups(care, elder, "elder.sos_group", [p.id for p in act], **values)
    township = await _township_groups(care, elder, "elder.sos_group", **values)
    log.warning("SOS from elder %d: alert %d", elder_id, alert.id)
    return Reached(
        caretakers=bool(caretakers and village),
        cadres=bool(village),
        township=bool(township),
        family=told > 0,
    )


async def raise_quiet(care: Care, watch: ElderCare, now: datetime) -> ElderAlert | None:
    """The elder has been quiet past their threshold: an alert to the caretakers (named and
    @mentioned in the village cadre group) and the family (1:1)."""
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
    _, missed = await _family(care, elder, "elder.alert_family", **values)
    caretakers = await _caretakers(care, elder)
    values |= {"who": _who(care, caretakers), "unreached": _unreached(care, missed)}
    mention = [p.id for p in caretakers]
    await _village_groups(care, elder, "elder.alert_caretakers", mention, **values)
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
        values["who"] = _who(care, secretaries)
        mention = [p.id for p in secretaries]
        await _village_groups(care, elder, "elder.alert_secretary", mention, **values)
        alert.step, alert.next_at = 1, now + care.ack
    else:
        await _township_groups(care, elder, "elder.alert_township", **values)
        alert.step, alert.next_at = 2, None


async def _alert_values(
    care: Care, alert: ElderAlert, elder: Person, now: datetime
) -> dict[str, Any]:
    watch = await care.tell.store.elders.care(elder.id)
    last = (
        care.tell.text(None, "elder.last_heard", time=care.at(alert.last_active_at))
        if watch is not None and watch.heard_at is not None
        else care.tell.text(None, "elder.never_heard")
    )
    return {
        "number": alert.id,
        "name": elder.name,
        "village": await _village_name(care, elder),
        "quiet": span(care.tell, now - alert.last_active_at),
        "last": last,
    }


# --- who hears it ----------------------------------------------------------------------------


def _who(care: Care, people: Sequence[Person]) -> str:
    """Those expected to act, by name; the village cadres when nobody is named."""
    names = list(dict.fromkeys(p.name for p in people))
    if not names:
        return care.tell.text(None, "elder.who_cadres")
    return care.tell.text(None, "list.sep").join(names)


def _unreached(care: Care, missed: Sequence[Person]) -> str:
    lines = [
        care.tell.text(None, "elder.family_unreached", name=p.name, phone=p.phone_masked or "-")
        for p in missed
    ]
    return "".join("\n" + line for line in lines)


async def _village_name(care: Care, elder: Person) -> str:
    unit = await care.tell.store.org.get(elder.village_id) if elder.village_id else None
    return unit.name if unit is not None else ""


async def _caretakers(care: Care, elder: Person) -> list[Person]:
    contacts = await care.tell.store.elders.contacts(elder.id)
    return [p for p, relation in contacts if relation is ContactRelation.CARETAKER]


async def _secretaries(care: Care, elder: Person) -> list[Person]:
    if elder.village_id is None:
        return []
    cadres = await care.tell.store.reports.cadres([elder.village_id])
    return [p for p, a in cadres if a.role is Role.VILLAGE_SECRETARY]


async def _village_groups(
    care: Care, elder: Person, key: str, mention: Sequence[int], **values: Any
) -> int:
    if elder.village_id is None:
        return 0
    return await _groups(care, elder.village_id, key, mention, **values)


async def _township_groups(care: Care, elder: Person, key: str, **values: Any) -> int:
    village = await care.tell.store.org.get(elder.village_id) if elder.village_id else None
    if village is None or village.parent_id is None:
        return 0
    return await _groups(care, village.parent_id, key, (), **values)


async def _groups(
    care: Care, unit_id: int, key: str, mention: Sequence[int], **values: Any
) -> int:
    return await care.tell.groups(unit_id, key, purpose=URGENT, mention=mention, **values)


async def _family(care: Care, elder: Person, key: str, **values: Any) -> tuple[int, list[Person]]:
    """Tell the family 1:1: how many were told, and who has no chat account to be told on."""
    told, missed = 0, []
    for person, relation in await care.tell.store.elders.contacts(elder.id):
        if relation is ContactRelation.FAMILY:
            if await care.tell.person(person, key, URGENT, **values):
                told += 1
            else:
                missed.append(person)
    return told, missed
