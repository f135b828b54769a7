"""The cadres' side of 随手拍: 接单 N (take a report on). Only cadres of the tier that holds
the report may act on it; of two accepting at once exactly one wins."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

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


async def _report_in_reach(ctx: Context, command: str = "report.cmd.accept") -> Report | Reply:
    """The report named in the command, if this cadre's tier holds it; else the answer."""
    number = ctx.args.strip().lstrip("#＃")
    if not number.isdigit():
        return ctx.reply("report.number_usage", command=ctx.t(command))
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


@router.message(Command("查看", "view"), roles=CADRE_ROLES, menu="menu.view", menu_order=41)
async def view(msg: InboundMessage, ctx: Context) -> Reply:
    """The whole report: who, what, deadlines, photos (links), and its timeline."""
    report = await _report_in_reach(ctx, "report.cmd.view")
    if isinstance(report, Reply):
        return report
    reporter = await ctx.store.people.get(report.reporter_id)
    assignee = await ctx.store.people.get(report.assignee_id) if report.assignee_id else None
    now = ctx.clock.now()
    lines = [
        ctx.t(
            "report.progress_title",
            number=report.id,
            category=report.category,
            status=ctx.t(f"report.status.{report.status}"),
        ),
        ctx.t(
            "report.view.reporter",
            name=reporter.name if reporter else "",
            time=_at(ctx, report.created_at),
        ),
        ctx.t("report.view.text", text=report.text or ctx.t("report.no_words")),
        ctx.t("report.view.assignee", name=assignee.name if assignee else ctx.t("report.nobody")),
        ctx.t(
            "report.view.deadlines",
            accept=_due(ctx, report.accept_due_at, report.accepted_at, now),
            resolve=_due(ctx, report.resolve_due_at, report.resolved_at, now),
        ),
    ]
    for photo in await ctx.store.reports.photos(report.id):
        key = "report.view.proof_photo" if photo.proof else "report.view.photo"
        lines.append(ctx.t(key, link=ctx.links.photo(photo.media)))
    lines.append(ctx.t("report.view.timeline"))
    for event in await ctx.store.reports.timeline(report.id):
        lines.append(ctx.t(f"report.event.{event.kind}", time=_at(ctx, event.at)))
    return Reply.of_text("\n".join(lines))


@router.message(Command("我的待办", "my todo"), roles=CADRE_ROLES, menu="menu.todo", menu_order=42)
async def todo(msg: InboundMessage, ctx: Context) -> Reply:
    """Open work, the most urgent deadline first."""
    assert ctx.person is not None
    units = [a.org_unit_id for a in ctx.assignments]
    reports = await ctx.store.reports.todo(ctx.person.id, units)
    if not reports:
        return ctx.reply("report.todo_empty")
    now = ctx.clock.now()
    reports = sorted(reports, key=_next_due)
    lines = [ctx.t("report.todo_title", count=len(reports))]
    for r in reports[:20]:
        lines.append(
            ctx.t(
                "report.todo_line",
                number=r.id,
                category=r.category,
                status=ctx.t(f"report.status.{r.status}"),
                due=_due(ctx, _next_due(r), None, now),
            )
        )
    return Reply.of_text("\n".join(lines))


def _next_due(report: Report) -> datetime:
    return report.accept_due_at if report.accepted_at is None else report.resolve_due_at


def _at(ctx: Context, when: datetime) -> str:
    return when.astimezone(ZoneInfo(ctx.settings.timezone)).strftime("%m-%d %H:%M")


def _due(ctx: Context, due: datetime, done: datetime | None, now: datetime) -> str:
    """A deadline as people read it: its local time, and whether it was missed."""
    shown = _at(ctx, due)
    if done is not None:
        return ctx.t("report.due_met" if done <= due else "report.due_missed", time=shown)
    return ctx.t("report.overdue", time=shown) if now > due else shown
