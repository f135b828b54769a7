"""What notices and tasks do, whoever asks: publish one to the units below (now, or by the
sweep when its time comes), record an acknowledgement or a completion and tell the
publisher, and take an overdue unit one step up the reminder ladder.

Whatever is said goes through the outbox in the step's own transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.media import Links
from handlers.tell import Tell, Term, span
from storage.models import ChatPurpose, Level, Notice, NoticeKind, NoticeTarget, OrgUnit
from storage.repos import Store

log = logging.getLogger(__name__)

RESIDENTS = (ChatPurpose.RESIDENTS,)


@dataclass(frozen=True, slots=True)
class Desk:
    """What notices need besides the transaction: the local time zone and where photo
    links point."""

    tell: Tell
    zone: ZoneInfo
    links: Links

    @classmethod
    def of(cls, ctx: Context) -> Desk:
        return cls(Tell.of(ctx), ZoneInfo(ctx.settings.timezone), ctx.links)

    def at(self, when: datetime) -> str:
        return when.astimezone(self.zone).strftime("%m-%d %H:%M")

    def values(self, notice: Notice, publisher: str) -> dict[str, Any]:
        """What every message about the notice may show."""
        return {
            "number": notice.id,
            "title": notice.title,
            "body": notice.body,
            "unit": publisher,
            "due": self.at(notice.due_at) if notice.due_at else Term("notice.no_due"),
            "attachment": (
                "\n"
                + self.tell.text(None, "notice.attachment", link=self.links.photo(notice.photo))
                if notice.photo
                else ""
            ),
            "what": Term(f"notice.kind.{notice.kind}"),
        }


def tracked(notice: Notice) -> bool:
    """Whether each receiving unit's answer is waited for (and chased)."""
    return notice.kind is NoticeKind.TASK or notice.ack_required


async def receivers(store: Store, publisher: OrgUnit, kind: NoticeKind) -> list[OrgUnit]:
    """A task goes to the units directly below (a county's townships, a township's villages);
    a notice to every township and village below."""
    if kind is NoticeKind.TASK:
        return [u for u in await store.org.below(publisher.id) if u.parent_id == publisher.id]
    return [
        u
        for u in await store.org.below(publisher.id)
        if u.level in (Level.TOWNSHIP, Level.VILLAGE)
    ]


async def publish(desk: Desk, notice: Notice, now: datetime) -> int:
    """Send the notice to every group it is for, and open a row for each unit whose answer is
    waited for; returns how many groups it went to. A village's notice goes to its own
    residents' groups."""
    store = desk.tell.store
    notice.published_at = now
    publisher = await store.org.get(notice.unit_id)
    assert publisher is not None
    values = desk.values(notice, publisher.name)
    if publisher.level is Level.VILLAGE:
        return await desk.tell.groups(
            publisher.id, "notice.push", purpose="notice", chats=RESIDENTS, **values
        )
    units = await receivers(store, publisher, notice.kind)
    if tracked(notice):
        store.notices.add_targets(
            [
                NoticeTarget(
                    notice_id=notice.id, unit_id=u.id, due_at=notice.due_at, chase_at=notice.due_at
                )
                for u in units
            ]
        )
    if notice.kind is NoticeKind.TASK:  # a township may hand its share to its villages
        townships = [u.id for u in units if u.level is Level.TOWNSHIP]
        others = [u.id for u in units if u.level is not Level.TOWNSHIP]
        told = await desk.tell.broadcast(
            townships, "notice.push_task_township", purpose="notice", **values
        )
        told += await desk.tell.broadcast(others, "notice.push_task", purpose="notice", **values)
    else:
        ids = [u.id for u in units]
        key = "notice.push_ack" if notice.ack_required else "notice.push"
        told = await desk.tell.broadcast(ids, key, purpose="notice", **values)
        told += await desk.tell.broadcast(
            ids, "notice.push", purpose="notice", chats=RESIDENTS, **values
        )
    log.info(
        "notice %d (%s) published by %s to %d groups", notice.id, notice.kind, publisher.code, told
    )
    return told


async def answered(
    desk: Desk,
    notice: Notice,
    target: NoticeTarget,
    now: datetime,
    *,
    by: int | None,
    evidence: str,
    photo: str,
) -> None:
    """A unit acknowledged the notice or completed the task: recorded, and those who sent it
    told; a township whose every village has completed its share completes too. Answers to
    one notice are taken one at a time (the notice row locked), so of two last answers at
    once the second sees the first and says "all done"."""
    store = desk.tell.store
    await store.notices.get(notice.id, lock=True)
    target.done_at, target.done_by, target.chase_at = now, by, None
    target.evidence, target.photo = evidence[:500], photo
    unit = await store.org.get(target.unit_id)
    assert unit is not None
    sender = await store.notices.target_by_id(target.via_id) if target.via_id else None
    told_unit = sender.unit_id if sender else notice.unit_id
    values = desk.values(notice, unit.name)
    if notice.kind is NoticeKind.TASK:
        values |= {
            "evidence": target.evidence or "—",
            "photo": desk.links.photo(photo) if photo else "—",
        }
        await desk.tell.groups(told_unit, "notice.done_group", purpose="notice", **values)
    rows = (
        await store.notices.split(sender.id) if sender else await store.notices.targets(notice.id)
    )
    waiting = [t for t in rows if t.done_at is None and t.via_id == target.via_id]
    if sender and not waiting and sender.done_at is None:
        done = desk.tell.text(None, "notice.split_all_done", count=len(rows))
        await answered(desk, notice, sender, now, by=None, evidence=done, photo="")
    elif not sender and not waiting:
        key = "notice.all_done" if notice.kind is NoticeKind.TASK else "notice.all_acked"
        await desk.tell.groups(
            notice.unit_id,
            key,
            purpose="notice",
            count=len([t for t in rows if t.via_id is None]),
            **desk.values(notice, ""),
        )


async def chase(desk: Desk, target: NoticeTarget, now: datetime, grace: timedelta) -> None:
    """One step of the ladder for a unit past the deadline: a reminder to its own groups,
    then (a grace period later) a word to its parent unit's groups; then nothing more."""
    store = desk.tell.store
    notice = await store.notices.get(target.notice_id)
    unit = await store.org.get(target.unit_id)
    assert notice is not None
    assert unit is not None
    assert target.due_at is not None
    values = desk.values(notice, unit.name) | {"late": span(desk.tell, now - target.due_at)}
    task = notice.kind is NoticeKind.TASK
    if target.chase_step == 0:
        key = "notice.overdue_task" if task else "notice.overdue_ack"
        await desk.tell.groups(unit.id, key, purpose="notice", **values)
        target.chase_step, target.chase_at = 1, now + grace
        return
    if unit.parent_id is not None:
        key = "notice.overdue_task_above" if task else "notice.overdue_ack_above"
        await desk.tell.groups(unit.parent_id, key, purpose="notice", **values)
    target.chase_step, target.chase_at = 2, None
