"""The cadres' side of 随手拍: 接单 N (take a report on). Only cadres of the tier that holds
the report may act on it; of two accepting at once exactly one wins."""

from __future__ import annotations

from bot.context import Context
from bot.message import InboundMessage, Push, Reply
from bot.router import Command, Router
from storage.models import CADRE_ROLES, Report

router = Router(name="reports.cadre")


@router.message(Command("接单", "accept"), roles=CADRE_ROLES, menu="menu.accept", menu_order=40)
async def accept(msg: InboundMessage, ctx: Context) -> Reply:
    report = await _report_in_reach(ctx)
    if isinstance(report, Reply):
        return report
    assert ctx.person is not None
    now = ctx.clock.now()
    if not await ctx.store.reports.take(report.id, ctx.person.id, now):
        await ctx.store.session.refresh(report)
        holder = await ctx.store.people.get(report.assignee_id) if report.assignee_id else None
        if holder is not None and holder.id == ctx.person.id:
            return ctx.reply("report.accept_yours", number=report.id)
        return ctx.reply(
            "report.accept_taken",
            number=report.id,
            who=holder.name if holder is not None else "",
            status=ctx.t(f"report.status.{report.status}"),
        )
    await ctx.store.session.refresh(report)
    await ctx.store.reports.event(report, "accepted", at=now, actor_id=ctx.person.id)
    role = next((a.role for a in ctx.assignments), None)
    told = ctx.t("report.accepted_villager", number=report.id, role=ctx.t(f"role.{role}"))
    ctx.push(
        Push(
            channel=report.channel,
            chat_id=report.chat_id,
            is_group=False,
            reply=Reply.of_text(told),
        ),
        "report",
    )
    return ctx.reply("report.accepted", number=report.id, category=report.category)


async def _report_in_reach(ctx: Context) -> Report | Reply:
    """The report named in the command, if this cadre's tier holds it; else the answer."""
    number = ctx.args.strip().lstrip("#＃")
    if not number.isdigit():
        return ctx.reply("report.number_usage", command=ctx.t("report.cmd.accept"))
    report = await ctx.store.reports.get(int(number))
    if report is None:
        return ctx.reply("report.no_such", number=number)
    units = {a.org_unit_id for a in ctx.assignments}
    if report.unit_id not in units and report.assignee_id != (ctx.person.id if ctx.person else 0):
        # a grid worker's unit is the grid: it reaches its own village's reports
        parents = {u.parent_id for u in [await ctx.store.org.get(i) for i in units] if u}
        if report.unit_id not in parents:
            return ctx.reply("report.not_your_tier", number=report.id)
    return report
