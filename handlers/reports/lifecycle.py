"""What every step of a report's life shares: telling the people concerned (the reporter and
those who reported the same problem, each in their own language where they wrote from; the
cadre groups of the tier that holds it), and the automatic close of a fix nobody answered.

Whatever is said goes through the outbox in the step's own transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.media import MediaError
from bot.message import InboundMessage, Push, Reply
from handlers import tell
from handlers.points.auto import REPORT_CONFIRMED, earn
from handlers.tell import Term, span
from storage.models import OrgUnit, Person, Report, ReportStatus, RoleAssignment
from storage.repos import Store

log = logging.getLogger(__name__)

AWAITING_WORDS = "reports.await_words"  # photos came; the words of a report (or 办结) may follow


MAX_NAMED = 5  # a county may have many cadres: name a few, then say how many


@dataclass(frozen=True, slots=True)
class Actors:
    """Who is expected to act on a report, as a message names them, and whom to @mention."""

    who: str  # 李书记 | 乡镇干部 周镇长
    in_charge: str  # the 负责人 line: 李书记 | 暂无，请乡镇干部 周镇长 接单
    mention: tuple[int, ...]


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
        mention: Sequence[int] = (),
        unit_id: int | None = None,
        image: str = "",
        **values: Any,
    ) -> None:
        """The cadre groups of the unit holding the report (or of `unit_id`), in the
        deployment's language, @mentioning the people `mention` where they are bound on
        that group's platform; with a photo (its stored name) where the platform shows one."""
        await self.groups(
            unit_id or report.unit_id,
            key,
            purpose="report",
            mention=mention,
            image=image,
            number=report.id,
            category=category_shown(lambda k: self.text(None, k), report.category),
            **values,
        )

    async def actors(self, report: Report, locale: str | None = None) -> Actors:
        """Who is expected to act on the report, in words of that language: the person it
        is assigned to, by name; with nobody assigned, the cadres of the unit holding it, by
        role and name (the first few)."""
        if report.assignee_id is not None:
            person = await self.store.people.get(report.assignee_id)
            if person is not None:
                return Actors(person.name, person.name, (person.id,))
        cadres: dict[int, tuple[Person, RoleAssignment]] = {}
        for person, assignment in await self.store.reports.cadres([report.unit_id]):
            cadres.setdefault(person.id, (person, assignment))  # one line each, first role
        if not cadres:
            unit = await self.store.org.get(report.unit_id)
            who = self.text(locale, "report.unit_cadres", unit=unit.name if unit else "")
        else:
            who = self.text(locale, "report.name_separator").join(
                self.text(locale, "report.role_name", role=Term(f"role.{a.role}"), name=p.name)
                for p, a in list(cadres.values())[:MAX_NAMED]
            )
            if len(cadres) > MAX_NAMED:
                who = self.text(locale, "report.names_more", names=who, count=len(cadres))
        return Actors(who, self.text(locale, "report.nobody_take", who=who), tuple(cadres))

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
    to the tier that holds it (the person in charge named and @mentioned), then, each grace
    period it stays undone, a tier up. Each step is on the timeline; the step taken is
    recorded on the report in the same transaction, so a second run finds nothing to do."""
    steps = 0
    for report in await store.reports.overdue(now, limit):
        assert report.chase_due is not None
        due, step = report.chase_due, report.chase_step
        if step == 0:
            await _remind(tell, report, now, span(tell, now - due))
        elif not await _climb(tell, report, now, span(tell, now - due)):
            report.chase_at = None  # the top tier has had its reminder: nothing more to climb
            continue
        report.chase_due, report.chase_step, report.chase_at = due, step + 1, now + grace
        steps += 1
    if steps:
        log.info("overdue 随手拍 reports: %d ladder steps taken", steps)
    return steps


async def _remind(tell: Tell, report: Report, now: datetime, late: str) -> None:
    """The holding tier is told the deadline passed, who should act and the reply to send."""
    kind = "overdue_accept" if report.accepted_at is None else "overdue_resolve"
    await tell.store.reports.event(report, kind, at=now, actor_id=None, note=late)
    actors = await tell.actors(report)
    await tell.tier(report, f"report.{kind}", mention=actors.mention, late=late, who=actors.who)


async def _climb(tell: Tell, report: Report, now: datetime, late: str) -> bool:
    """The report goes a tier up for being late: the new tier is asked to take it on (its
    cadres named), the one below told where it went. False at the top."""
    accepting = report.accepted_at is None
    deadline = Term("report.deadline_accept" if accepting else "report.deadline_resolve")
    reason = tell.text(None, "report.overdue_reason", deadline=deadline, late=late)
    moved = await escalate(tell, report, now, actor_id=None, reason=reason)
    if moved is None:
        return False
    actors = await tell.actors(report)
    await tell.tier(
        report,
        "report.overdue_escalated",
        mention=actors.mention,
        source=moved.source.name,
        reason=reason,
        text=report.text or tell.text(None, "report.no_words"),
        reporter=await tell.reporter_shown(report),
        who=actors.who,
    )
    await tell.tier(
        report,
        "report.overdue_escalated_below",
        unit_id=moved.source.id,
        unit=moved.target.name,
        reason=reason,
    )
    return True


def number_and_rest(args: str) -> tuple[int | None, str]:
    """ "12 路灯已修好" -> (12, "路灯已修好"); "#12" -> (12, ""); "修好了" -> (None, "修好了")."""
    text = args.strip().lstrip("#＃").strip()
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits == 0:
        return None, text
    return int(text[:digits]), text[digits:].strip(" \t\r\n:：,，、.。")


async def close_unanswered(
    store: Store, tell: Tell, now: datetime, after_days: int, zone: ZoneInfo, limit: int = 500
) -> int:
    """Close the resolved reports whose reporter said nothing for `after_days` days. The close
    is recorded as automatic and leaves the verdict empty: silence is not satisfaction. The
    fix was made, though: the reporter's household earns `有效上报` as for 满意."""
    closed = 0
    for report in await store.reports.unanswered(now - timedelta(days=after_days), limit):
        report.closed_at = now
        await store.reports.event(
            report, "auto_closed", at=now, actor_id=None, status=ReportStatus.CLOSED
        )
        await earn(store, report.reporter_id, REPORT_CONFIRMED, f"report:{report.id}", now, zone)
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


def category_shown(t: Callable[..., str], name: str) -> str:
    """A report's category in the reader's language, `t` being their words (key -> text).
    Reports keep the category's Chinese name; one the catalogs do not know stays as it is."""
    key = f"category.{name}"
    shown = t(key)
    return name if shown == key else shown
