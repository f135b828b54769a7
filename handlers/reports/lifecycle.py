"""What every step of a report's life shares: telling the people concerned (the reporter and
those who reported the same problem, each in their own language where they wrote from; the
cadre groups of the tier that holds it), and the automatic close of a fix nobody answered.

Whatever is said goes through the outbox in the step's own transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.media import MediaError
from bot.message import InboundMessage, Push, Reply
from storage.models import Report, ReportStatus
from storage.repos import Store

log = logging.getLogger(__name__)

AWAITING_WORDS = "reports.await_words"  # photos came; the words of a report (or 办结) may follow


@dataclass(frozen=True, slots=True)
class Term:
    """A catalog key put into each recipient's own language (a role, a status)."""

    key: str


Words = Callable[..., str]  # (locale, key, **values) -> text
PushFn = Callable[[Push, str], None]  # (push, purpose)


@dataclass(frozen=True, slots=True)
class Tell:
    store: Store
    words: Words
    push: PushFn

    @classmethod
    def of(cls, ctx: Context) -> Tell:
        return cls(ctx.store, ctx.t_for, ctx.push)

    def text(self, locale: str | None, key: str, **values: Any) -> str:
        shown = {
            k: self.words(locale, v.key) if isinstance(v, Term) else v for k, v in values.items()
        }
        return str(self.words(locale, key, **shown))

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
        self, report: Report, key: str, *, mention: int | None = None, **values: Any
    ) -> None:
        """The cadre groups of the unit holding the report, in the deployment's language,
        @mentioning the person `mention` where they are bound on that group's platform."""
        text = self.text(None, key, number=report.id, category=report.category, **values)
        for group in await self.store.reports.cadre_groups(report.unit_id):
            mentions: tuple[str, ...] = ()
            if mention is not None:
                identity = await self.store.identities.of_person(mention, group.channel)
                mentions = (identity.external_id,) if identity is not None else ()
            reply = Reply.of_text(text, mentions=mentions)
            self.push(
                Push(channel=group.channel, chat_id=group.external_id, is_group=True, reply=reply),
                "report",
            )


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
    if report.anonymous and not private:
        return ctx.t_for(None, "report.anonymous")
    person = await ctx.store.people.get(report.reporter_id)
    name = person.name if person is not None else ""
    return ctx.t("report.anonymous_private", name=name) if report.anonymous else name


def local_time(ctx: Context, at: datetime) -> datetime:
    return at.astimezone(ZoneInfo(ctx.settings.timezone))
