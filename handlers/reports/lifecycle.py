"""What every step of a report's life shares: telling the people concerned (the reporter and
those who reported the same problem, each in their own language where they wrote from; the
cadre groups of the tier that holds it), and the automatic close of a fix nobody answered.

Whatever is said goes through the outbox in the step's own transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.media import MediaError
from bot.message import InboundMessage, Push, Reply
from handlers import tell
from handlers.tell import Term, span
from storage.models import OrgUnit, Report, ReportStatus
from storage.repos import Store

log = logging.getLogger(__name__)

AWAITING_WORDS = "reports.await_words"  # photos came; the words of a report (or 办结) may follow


@dataclass(frozen=True, slots=True)
class Tell(tell.Tell):
    """Telling, with what a report's steps say: to its reporter and to the tier holding it."""

    async def reporter(
        self, report: Report, key: str, *, followers: str | None = None, **values: Any
    ) -> None:
        """The reporter where they reported from (@mentioned in a group); with `followers`,
        also those linked to the report, with that message (they cannot confirm the fix)."""
        targets = [(report.reporter_id, report.channel, report.chat_id, report.chat_is_group, key)]
        if followers is not None:
            targets += [
                (f.person_id, f.channel, f.chat_id, f.chat_is_group, followers)
                for f in await self.store.reports.followers(report.id)
            ]
        for person_id, channel, chat_id, is_group, message in targets:
            person = await self.store.people.get(person_id)
            text = self.text(
                person.locale if person else None, message, number=report.id, **values
            )
            mentions: tuple[str, ...] = ()
            if is_group:
                identity = await self.store.identities.of_person(person_id, channel)
                mentions = (identity.external_id,) if identity is not None else ()
            reply = Reply.of_text(text, mentions=mentions)
            self.push(
                Push(channel=channel, chat_id=chat_id, is_group=is_group, reply=reply), "report"
            )

    async def tier(
        self,
        report: Report,
        key: str,
        *,
        mention: int | None = None,
        unit_id: int | None = None,
        **values: Any,
    ) -> None:
        """The cadre groups of the unit holding the report (or of `unit_id`), in the
        deployment's language, @mentioning the person `mention` where they are bound on
        that group's platform."""
        await self.groups(
            unit_id or report.unit_id,
            key,
            purpose="report",
            mention=(mention,) if mention is not None else (),
            number=report.id,
            category=report.category,
            **values,
        )

    async def reporter_shown(self, report: Report) -> str:
        """The reporter's name as a cadre group sees it: an anonymous one is not named."""
        if report.anonymous:
            return self.text(None, "report.anonymous")
        person = await self.store.people.get(report.reporter_id)
        return person.name if person is not None else ""


@dataclass(frozen=True, slots=True)
class Escalation:
    source: OrgUnit
    target: OrgUnit


async def escalate(
    tell: Tell, report: Report, at: datetime, *, actor_id: int | None, reason: str
) -> Escalation | None:
    """Move the report to the next tier up (village -> township -> county), which holds it
    from now on with nobody assigned; the reporter and those linked are told. None at the
    top. Telling the cadre groups is the caller's: what they hear depends on why."""
    unit = await tell.store.org.get(report.unit_id)
    parent = await tell.store.org.get(unit.parent_id) if unit and unit.parent_id else None
    if unit is None or parent is None:
        return None
    report.unit_id, report.assignee_id = parent.id, None
    await tell.store.reports.event(
        report,
        "escalated",
        at=at,
        actor_id=actor_id,
        note=f"{unit.name} → {parent.name}：{reason}",
        status=ReportStatus.ESCALATED,
    )
    await tell.reporter(
        report,
        "report.escalated_villager",
        followers="report.escalated_villager",
        unit=parent.name,
    )
    return Escalation(unit, parent)


async def chase_overdue(
    store: Store, tell: Tell, now: datetime, grace: timedelta, limit: int = 500
) -> int:
    """One step of the deadline ladder for each report that has one due: first a reminder
    to the tier that holds it (the person in charge @mentioned), then, each grace period it
    stays undone, a tier up. Each step is on the timeline; the step taken is recorded on the
    report in the same transaction, so a second run finds nothing to do."""
    steps = 0
    for report in await store.reports.overdue(now, limit):
        assert report.chase_due is not None
        due, step = report.chase_due, report.chase_step
        accepting = report.accepted_at is None
        late = span(tell, now - due)
        if step == 0:
            kind, key = (
                ("overdue_accept", "report.overdue_accept")
                if accepting
                else ("overdue_resolve", "report.overdue_resolve")
            )
            await store.reports.event(report, kind, at=now, actor_id=None, note=late)
            await tell.tier(report, key, mention=report.assignee_id, late=late)
        else:
            deadline = Term("report.deadline_accept" if accepting else "report.deadline_resolve")
            reason = tell.text(None, "report.overdue_reason", deadline=deadline, late=late)
            moved = await escalate(tell, report, now, actor_id=None, reason=reason)
            if moved is None:  # the top tier has had its reminder: nothing more to climb
                report.chase_at = None
                continue
            await tell.tier(
                report,
                "report.overdue_escalated",
                source=moved.source.name,
                reason=reason,
                text=report.text or tell.text(None, "report.no_words"),
                reporter=await tell.reporter_shown(report),
            )
            await tell.tier(
                report,
                "report.overdue_escalated_below",
                unit_id=moved.source.id,
                unit=moved.target.name,
                reason=reason,
            )
        report.chase_due, report.chase_step, report.chase_at = due, step + 1, now + grace
        steps += 1
    if steps:
        log.info("overdue 随手拍 reports: %d ladder steps taken", steps)
    return steps


def number_and_rest(args: str) -> tuple[int | None, str]:
    """ "12 路灯已修好" -> (12, "路灯已修好"); "#12" -> (12, ""); "修好了" -> (None, "修好了")."""
    text = args.strip().lstrip("#＃").strip()
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits == 0:
        return None, text
    return int(text[:digits]), text[digits:].strip(" \t\r\n:：,，、.。")


async def close_unanswered(
    store: Store, tell: Tell, now: datetime, after_days: int, limit: int = 500
) -> int:
    """Close the resolved reports whose reporter said nothing for `after_days` days. The close
    is recorded as automatic and leaves the verdict empty: silence is not satisfaction."""
    closed = 0
    for report in await store.reports.unanswered(now - timedelta(days=after_days), limit):
        report.closed_at = now
        await store.reports.event(
            report, "auto_closed", at=now, actor_id=None, status=ReportStatus.CLOSED
        )
        await tell.reporter(report, "report.auto_closed_villager", days=after_days)
        closed += 1
    if closed:
        log.info("closed %d resolved reports nobody answered for %d days", closed, after_days)
    return closed


async def keep_photo(msg: InboundMessage, ctx: Context) -> str | Reply:
    """The stored name of the message's photo, or the answer saying why it was not kept."""
    if ctx.photos is None:
        return ctx.reply("fallback.unsupported")
    try:
        return await ctx.photos.keep(msg)
    except MediaError as exc:
        return ctx.reply(exc.key)


async def reporter_name(ctx: Context, report: Report, *, private: bool) -> str:
    """Who reported it. An anonymous reporter's name is shown to cadres only in a private
    chat (查看 1:1), never in a group."""
    if not (report.anonymous and private):
        return await Tell.of(ctx).reporter_shown(report)
    person = await ctx.store.people.get(report.reporter_id)
    return ctx.t("report.anonymous_private", name=person.name if person is not None else "")


def local_time(ctx: Context, at: datetime) -> datetime:
    return at.astimezone(ZoneInfo(ctx.settings.timezone))
