"""Reading 随手拍 reports as a cadre: 查看 N (everything about one, for whoever may see it,
not only the tier that acts on it) and 我的待办 (open work, the most urgent first)."""

from __future__ import annotations

from datetime import datetime

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from handlers.reports.access import report_to_read
from handlers.reports.lifecycle import (
    Tell,
    category_shown,
    local_time,
    number_and_rest,
    reporter_name,
)
from storage.models import CADRE_ROLES, Report

router = Router(name="reports.reading")


@router.message(Command("查看", "view"), roles=CADRE_ROLES, menu="menu.view", menu_order=41)
async def view(msg: InboundMessage, ctx: Context) -> Reply:
    """The whole report: who, what, who is to act, deadlines, photos (links), its timeline."""
    number, _ = number_and_rest(ctx.args)
    report = await report_to_read(ctx, number, "report.cmd.view")
    if isinstance(report, Reply):
        return report
    reporters = (await ctx.store.reports.reporters([report.id]))[report.id]
    actors = await Tell.of(ctx).actors(report, ctx.person.locale if ctx.person else None)
    now = ctx.clock.now()
    lines = [
        ctx.t(
            "report.progress_title",
            number=report.id,
            category=category_shown(ctx.t, report.category),
            status=ctx.t(f"report.status.{report.status}"),
        ),
        ctx.t(
            "report.view.reporter",
            name=await reporter_name(ctx, report, private=not msg.is_group),
            time=_at(ctx, report.created_at),
        ),
        ctx.t("report.view.text", text=report.text or ctx.t("report.no_words")),
    ]
    if report.place:
        lines.append(ctx.t("report.view.place", place=report.place))
    if reporters > 1:
        lines.append(ctx.t("report.view.reporters", count=reporters))
    lines += [
        ctx.t("report.view.assignee", name=actors.in_charge),
        ctx.t(
            "report.view.deadlines",
            accept=_due(ctx, report.accept_due_at, report.accepted_at, now),
            resolve=_due(ctx, report.resolve_due_at, report.resolved_at, now),
        ),
    ]
    return Reply.of_text("\n".join(lines + await _photos_and_timeline(ctx, report)))


async def _photos_and_timeline(ctx: Context, report: Report) -> list[str]:
    lines = []
    for photo in await ctx.store.reports.photos(report.id):
        key = "report.view.proof_photo" if photo.proof else "report.view.photo"
        lines.append(ctx.t(key, link=ctx.links.photo(photo.media)))
    lines.append(ctx.t("report.view.timeline"))
    for event in await ctx.store.reports.timeline(report.id):
        line = ctx.t(f"report.event.{event.kind}", time=_at(ctx, event.at))
        lines.append(f"{line}：{event.note}" if event.note else line)
    return lines


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
                category=category_shown(ctx.t, r.category),
                status=ctx.t(f"report.status.{r.status}"),
                due=_due(ctx, _next_due(r), None, now),
            )
        )
    return Reply.of_text("\n".join(lines))


def _next_due(report: Report) -> datetime:
    return report.accept_due_at if report.accepted_at is None else report.resolve_due_at


def _at(ctx: Context, when: datetime) -> str:
    return local_time(ctx, when).strftime("%m-%d %H:%M")


def _due(ctx: Context, due: datetime, done: datetime | None, now: datetime) -> str:
    """A deadline as people read it: its local time, and whether it was missed."""
    shown = _at(ctx, due)
    if done is not None:
        return ctx.t("report.due_met" if done <= due else "report.due_missed", time=shown)
    return ctx.t("report.overdue", time=shown) if now > due else shown
