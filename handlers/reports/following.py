"""A villager follows their 随手拍 reports (我的上报, 查进度 N, or 查看 N) and has the last
word on the fix (满意 N / 不满意 N 原因)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import Command, KindIs, ReadsAs, Router
from handlers.points.auto import REPORT_CONFIRMED, earn
from handlers.reports.lifecycle import Tell, category_shown, local_time, number_and_rest
from storage.models import Report, ReportStatus, Role
from understanding import Intent

router = Router(name="reports.following")


@router.message(
    Command("我的上报", "my reports"), roles={Role.VILLAGER}, menu="menu.my_reports", menu_order=31
)
async def my_reports(msg: InboundMessage, ctx: Context) -> Reply:
    return await _listing(ctx)


@router.message(KindIs(Kind.TEXT, Kind.VOICE), ReadsAs(Intent.PROGRESS), roles={Role.VILLAGER})
async def asking_after(msg: InboundMessage, ctx: Context) -> Reply:
    """我前天报的那个路灯修没修: asked in their own words, a villager gets 我的上报."""
    return await _listing(ctx)


async def _listing(ctx: Context) -> Reply:
    assert ctx.person is not None
    reports = await ctx.store.reports.of_reporter(ctx.person.id)
    if not reports:
        return ctx.reply("report.mine_empty")
    lines = [ctx.t("report.mine_title")]
    lines += [
        ctx.t(
            "report.mine_line",
            number=r.id,
            category=category_shown(ctx.t, r.category),
            status=ctx.t(f"report.status.{r.status}"),
            date=local_time(ctx, r.created_at).strftime("%m-%d"),
        )
        for r in reports
    ]
    lines.append(ctx.t("report.mine_hint"))
    return Reply.of_text("\n".join(lines))


# 查看 too: a reporter may read their report with the word a cadre would use
@router.message(Command("查进度", "progress", "查看", "view"), roles={Role.VILLAGER})
async def progress(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.person is not None
    number, _ = number_and_rest(ctx.args)
    if number is None:
        return ctx.reply("report.progress_usage")
    report = await ctx.store.reports.get(number)
    if report is None or not await _concerns(ctx, report):
        return ctx.reply("report.not_yours", number=number)
    lines = [
        ctx.t(
            "report.progress_title",
            number=report.id,
            category=category_shown(ctx.t, report.category),
            status=ctx.t(f"report.status.{report.status}"),
        )
    ]
    for event in await ctx.store.reports.timeline(report.id):
        when = local_time(ctx, event.at).strftime("%m-%d %H:%M")
        lines.append(ctx.t(f"report.event.{event.kind}", time=when))
    return Reply.of_text("\n".join(lines))


@router.message(Command("满意", "satisfied"), roles={Role.VILLAGER}, menu="menu.satisfied")
async def satisfied(msg: InboundMessage, ctx: Context) -> Reply:
    """满意 12: the fix is good; the report is closed."""
    report = await _resolved_report_of_mine(ctx)
    if isinstance(report, Reply):
        return report
    assert ctx.person is not None
    now = ctx.clock.now()
    report.satisfied, report.closed_at = True, now
    await ctx.store.reports.event(
        report, "confirmed", at=now, actor_id=ctx.person.id, status=ReportStatus.CLOSED
    )
    await Tell.of(ctx).tier(report, "report.confirmed_group")
    zone = ZoneInfo(ctx.settings.timezone)
    source = f"report:{report.id}"
    earned = await earn(ctx.store, report.reporter_id, REPORT_CONFIRMED, source, now, zone)
    thanks = ctx.t("report.thanks", number=report.id)
    if earned:
        thanks += "\n" + ctx.t("points.earned", rule=REPORT_CONFIRMED, points=earned)
    return Reply.of_text(thanks)


@router.message(Command("不满意", "not satisfied"), roles={Role.VILLAGER})
async def unsatisfied(msg: InboundMessage, ctx: Context) -> Reply:
    """不满意 12 原因: not fixed; the report is open again, with the same person in charge."""
    report = await _resolved_report_of_mine(ctx)
    if isinstance(report, Reply):
        return report
    assert ctx.person is not None
    _, reason = number_and_rest(ctx.args)
    report.satisfied, report.resolved_at = False, None
    await ctx.store.reports.event(
        report,
        "reopened",
        at=ctx.clock.now(),
        actor_id=ctx.person.id,
        note=reason,
        status=ReportStatus.REOPENED,
    )
    tell = Tell.of(ctx)
    actors = await tell.actors(report)
    await tell.tier(
        report,
        "report.reopened_group",
        mention=actors.mention,
        who=actors.who,
        reason=reason or ctx.t_for(None, "report.no_reason"),
    )
    return ctx.reply("report.reopened", number=report.id)


async def _resolved_report_of_mine(ctx: Context) -> Report | Reply:
    """The report named (or, with no number, the only one waiting for this person's word),
    if it is theirs and waiting for their word."""
    assert ctx.person is not None
    number, _ = number_and_rest(ctx.args)
    if number is None:
        waiting = [
            r
            for r in await ctx.store.reports.of_reporter(ctx.person.id, limit=20)
            if r.status is ReportStatus.RESOLVED
        ]
        if len(waiting) != 1:
            return ctx.reply("report.verdict_usage")
        number = waiting[0].id
    report = await ctx.store.reports.get(number, lock=True)
    if report is None or report.reporter_id != ctx.person.id:
        return ctx.reply("report.not_yours", number=number)
    if report.status is not ReportStatus.RESOLVED:
        return ctx.reply(
            "report.not_resolved", number=report.id, status=ctx.t(f"report.status.{report.status}")
        )
    return report


async def _concerns(ctx: Context, report: Report) -> bool:
    """Whether the sender reported it, or reported the same problem and was linked to it."""
    assert ctx.person is not None
    if report.reporter_id == ctx.person.id:
        return True
    return any(f.person_id == ctx.person.id for f in await ctx.store.reports.followers(report.id))
