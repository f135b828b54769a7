"""通知 N: a notice or task in full, and for its publisher (or a unit above) who has answered
and who has not; a villager's 通知: what their village was told."""

from __future__ import annotations

from typing import Any

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from handlers.notices import answering_units
from handlers.notices.desk import Desk, tracked
from handlers.reports.lifecycle import number_and_rest
from storage.models import CADRE_ROLES, Notice, NoticeKind, NoticeTarget, Role

router = Router(name="notices.reading")

VILLAGER_LATEST = 5  # notices a villager's 通知 lists
MAX_NAMES = 30  # units named in a progress line before "等N个"


# --- 通知 N: the notice, and for its sender, who has answered -----------------------------


@router.message(
    Command("通知", "督办", "notice"), roles=CADRE_ROLES, menu="menu.notice_view", menu_order=55
)
async def view(msg: InboundMessage, ctx: Context) -> Reply:
    """通知 N (or 通知 N 进度); without a number, what the sender's units owe and the latest."""
    number, _ = number_and_rest(ctx.args)
    units = await answering_units(ctx)
    if number is None:
        return await _listing(ctx, units)
    notice = await ctx.store.notices.get(number)
    if notice is None or (
        notice.published_at is None and notice.author_id != (ctx.person.id if ctx.person else 0)
    ):
        return ctx.reply("notice.no_such", number=number)
    desk = Desk.of(ctx)
    publisher = await ctx.store.org.get(notice.unit_id)
    locale = ctx.person.locale if ctx.person else None
    values = desk.values(notice, publisher.name if publisher else "")
    lines = [desk.tell.text(locale, "notice.view", **values)]
    if notice.published_at is None:
        lines.append(ctx.t("notice.view_scheduled", time=desk.at(notice.publish_at)))
    elif tracked(notice) and await _oversees(ctx, notice, units):
        lines += await _progress(ctx, notice)
    else:
        mine = await ctx.store.notices.target(notice.id, units)
        to_all_below = notice.kind is NoticeKind.NOTICE and notice.unit_id in await _above(
            ctx, units
        )
        if mine is None and notice.unit_id not in units and not to_all_below:
            return ctx.reply("notice.not_yours", number=notice.id)
        if mine is not None:
            lines.append(
                ctx.t(f"notice.mine_done.{notice.kind}", time=desk.at(mine.done_at))
                if mine.done_at
                else ctx.t(f"notice.mine_owed.{notice.kind}", number=notice.id)
            )
    return Reply.of_text("\n".join(lines))


async def _above(ctx: Context, units: list[int]) -> set[int]:
    """The units above these (whose notices reach everyone below)."""
    return {u.id for unit_id in units for u in (await ctx.store.org.lineage(unit_id))[1:]}


async def _oversees(ctx: Context, notice: Notice, units: list[int]) -> bool:
    """The sender's unit sent it, or sits above the one that did."""
    return any(u.id in units for u in await ctx.store.org.lineage(notice.unit_id))


async def _progress(ctx: Context, notice: Notice) -> list[str]:
    rows = await ctx.store.notices.targets(notice.id)
    names = {u.id: u.name for u in await ctx.store.org.below(notice.unit_id)}
    direct = [t for t in rows if t.via_id is None]
    done = [t for t in direct if t.done_at is not None]
    waiting = [t for t in direct if t.done_at is None]

    def named(targets: list[NoticeTarget]) -> str:
        shown = [
            names.get(t.unit_id, "?") + _split_note(ctx, t, rows) for t in targets[:MAX_NAMES]
        ]
        more = len(targets) - MAX_NAMES
        return "、".join(shown) + (ctx.t("notice.and_more", count=more) if more > 0 else "") or "—"

    return [
        ctx.t(f"notice.progress.{notice.kind}", done=len(done), total=len(direct)),
        ctx.t(f"notice.progress_done.{notice.kind}", names=named(done)),
        ctx.t(f"notice.progress_waiting.{notice.kind}", names=named(waiting)),
    ]


def _split_note(ctx: Context, target: NoticeTarget, rows: Any) -> str:
    if target.split_at is None or target.done_at is not None:
        return ""
    shares = [t for t in rows if t.via_id == target.id]
    done = sum(1 for t in shares if t.done_at is not None)
    return ctx.t("notice.split_note", done=done, total=len(shares))


# --- villagers: what the village was told --------------------------------------------------


@router.message(
    Command("通知", "notice"), roles={Role.VILLAGER}, menu="menu.notice_villager", menu_order=34
)
async def villager_view(msg: InboundMessage, ctx: Context) -> Reply:
    """通知: the latest notices to the villager's village (from it, its township, its
    county); 通知 N: one of them in full."""
    assert ctx.person is not None
    if ctx.person.village_id is None:
        return ctx.reply("notice.villager_no_village")
    senders = [u.id for u in await ctx.store.org.lineage(ctx.person.village_id)]
    number, _ = number_and_rest(ctx.args)
    desk = Desk.of(ctx)
    if number is not None:
        notice = await ctx.store.notices.get(number)
        if (
            notice is None
            or notice.kind is not NoticeKind.NOTICE
            or notice.published_at is None
            or notice.unit_id not in senders
        ):
            return ctx.reply("notice.no_such", number=number)
        publisher = await ctx.store.org.get(notice.unit_id)
        values = desk.values(notice, publisher.name if publisher else "")
        return Reply.of_text(desk.tell.text(ctx.person.locale, "notice.push", **values))
    notices = await ctx.store.notices.published_by(senders, VILLAGER_LATEST)
    if not notices:
        return ctx.reply("notice.villager_none")
    lines = [ctx.t("notice.villager_title")]
    for n in notices:
        assert n.published_at is not None
        lines.append(
            ctx.t("notice.villager_line", number=n.id, title=n.title, time=desk.at(n.published_at))
        )
    lines.append(ctx.t("notice.villager_hint"))
    return Reply.of_text("\n".join(lines))


async def _listing(ctx: Context, units: list[int]) -> Reply:
    owed = await ctx.store.notices.pending(units)
    recent = await ctx.store.notices.recent(units, await _above(ctx, units))
    if not owed and not recent:
        return ctx.reply("notice.none")
    desk = Desk.of(ctx)
    lines = []
    if owed:
        lines.append(ctx.t("notice.owed_title", count=len(owed)))
        for n, t in owed:
            due = desk.at(t.due_at) if t.due_at else ctx.t("notice.no_due")
            lines.append(ctx.t(f"notice.owed_line.{n.kind}", number=n.id, title=n.title, due=due))
    if recent:
        lines.append(ctx.t("notice.recent_title"))
        for n in recent:
            assert n.published_at is not None
            lines.append(
                ctx.t(
                    "notice.recent_line",
                    number=n.id,
                    title=n.title,
                    time=desk.at(n.published_at),
                    what=ctx.t(f"notice.kind.{n.kind}"),
                )
            )
    lines.append(ctx.t("notice.view_hint"))
    return Reply.of_text("\n".join(lines))
