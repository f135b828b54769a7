"""Whether two reports are one problem, in the villager's own word. `同一件`, just after a
report the bot said might be the same as an open one: the new report is closed into that
one, which the villager follows from then on. `不是同一件`, after a report was taken for
someone else's open one: the link is undone (with the photos they sent), that report's
timeline says so, and what they said becomes a report of its own, routed as any other."""

from __future__ import annotations

from bot.context import Context
from bot.message import InboundMessage, Location, Reply
from bot.router import Command, InState, Router
from handlers.reports.duplicates import follow
from handlers.reports.lifecycle import Tell, number_and_rest
from handlers.reports.making import AWAITING_PLACE, submit
from storage.models import OPEN_STATUSES, Report, ReportFollower, ReportStatus, Role

router = Router(name="reports.unlinking")
SAME = ("同一件", "是同一件", "same one")


@router.message(Command(*SAME), InState(AWAITING_PLACE), roles={Role.VILLAGER})
async def the_same(msg: InboundMessage, ctx: Context) -> Reply:
    """同一件: the report just made joins the open one the bot named."""
    assert ctx.state is not None
    assert ctx.person is not None
    maybe = ctx.state.data.get("maybe")
    ctx.conversation.end()
    new = await ctx.store.reports.get(int(ctx.state.data["report"]), lock=True)
    other = await ctx.store.reports.get(int(maybe), lock=True) if maybe else None
    if (
        new is None
        or other is None
        or new.reporter_id != ctx.person.id
        or new.status not in OPEN_STATUSES
        or other.status not in OPEN_STATUSES
    ):
        return ctx.reply("report.nothing_to_merge")
    now = ctx.clock.now()
    await ctx.store.reports.event(
        new,
        "merged",
        at=now,
        actor_id=ctx.person.id,
        note=f"#{other.id}",
        status=ReportStatus.CLOSED,
    )
    new.closed_at = now
    await Tell.of(ctx).tier(new, "report.merged_group", other=other.id)
    photos = [p.media for p in await ctx.store.reports.photos(new.id) if not p.proof]
    return await follow(msg, ctx, other, (new.text, photos, _where(new), new.place))


@router.message(Command(*SAME), roles={Role.VILLAGER})
async def nothing_to_join(msg: InboundMessage, ctx: Context) -> Reply:
    return ctx.reply("report.nothing_to_merge")


@router.message(Command("不是同一件", "not the same"), roles={Role.VILLAGER})
async def not_the_same(msg: InboundMessage, ctx: Context) -> Reply:
    """不是同一件 (the latest link), or 不是同一件 12."""
    assert ctx.person is not None
    number, _ = number_and_rest(ctx.args)
    link = await ctx.store.reports.link_of(ctx.person.id, number)
    if link is None:
        return ctx.reply("report.not_linked")
    report = await ctx.store.reports.get(link.report_id, lock=True)
    assert report is not None  # the link's foreign key
    photos = await ctx.store.reports.unfollow(link)
    await ctx.store.reports.event(report, "unlinked", at=ctx.clock.now(), actor_id=ctx.person.id)
    return await submit(
        msg, ctx, link.text, photos, _where(link), link.place, category=report.category, link=False
    )


def _where(said: Report | ReportFollower) -> Location | None:
    if said.latitude is None or said.longitude is None:
        return None
    return Location(latitude=said.latitude, longitude=said.longitude, label=said.place)
