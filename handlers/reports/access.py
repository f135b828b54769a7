"""Who may read a report and who may act on it. Reading is not acting: the cadres of the
tier holding a report, of the tiers it came up through and of those above it, a grid worker
of its village and its reporter may read it (查看); only the holding tier acts on it (a grid
worker reaches its village's reports; whoever it is assigned to may always act)."""

from __future__ import annotations

from bot.context import Context
from bot.message import Reply
from storage.models import OPEN_STATUSES, Level, Report


async def report_to_read(ctx: Context, number: int | None, command: str) -> Report | Reply:
    """The report named in the command, if this person may read it; else the answer."""
    if number is None:
        return ctx.reply("report.number_usage", command=ctx.t(command))
    report = await ctx.store.reports.get(number)
    if report is None:
        return ctx.reply("report.no_such", number=number)
    if await _may_act(ctx, report) or await _may_read(ctx, report):
        return report
    return ctx.reply("report.not_your_tier", number=report.id)


async def report_to_act_on(
    ctx: Context, number: int | None, command: str, *, lock: bool = True
) -> Report | Reply:
    """The report named in the command, if this cadre's tier holds it; else the answer."""
    if number is None:
        return ctx.reply("report.number_usage", command=ctx.t(command))
    report = await ctx.store.reports.get(number, lock=lock)
    if report is None:
        return ctx.reply("report.no_such", number=number)
    if not await _may_act(ctx, report):
        return ctx.reply("report.not_your_tier", number=report.id)
    return report


async def open_report_to_act_on(
    ctx: Context, number: int | None, command: str, *, lock: bool = True
) -> Report | Reply:
    report = await report_to_act_on(ctx, number, command, lock=lock)
    if isinstance(report, Report) and report.status not in OPEN_STATUSES:
        return ctx.reply(
            "report.not_open", number=report.id, status=ctx.t(f"report.status.{report.status}")
        )
    return report


async def _may_act(ctx: Context, report: Report) -> bool:
    units = {a.org_unit_id for a in ctx.assignments}
    if report.unit_id in units or report.assignee_id == (ctx.person.id if ctx.person else 0):
        return True
    # a grid worker's unit is the grid: it reaches its own village's reports (and no
    # higher: a village cadre does not reach what went up to the township)
    return report.unit_id in await _villages_of_grids(ctx)


async def _may_read(ctx: Context, report: Report) -> bool:
    if ctx.person is not None and report.reporter_id == ctx.person.id:
        return True
    if report.village_id in await _villages_of_grids(ctx):
        return True
    units = {a.org_unit_id for a in ctx.assignments}
    return not units.isdisjoint(await _tiers_seeing(ctx, report))


async def _villages_of_grids(ctx: Context) -> set[int]:
    grids = [await ctx.store.org.get(a.org_unit_id) for a in ctx.assignments]
    return {u.parent_id for u in grids if u and u.level is Level.GRID and u.parent_id}


async def _tiers_seeing(ctx: Context, report: Report) -> set[int]:
    """The unit holding the report, those above it, and those it came up through: a report
    climbs its village's line one tier per 升级, so it passed through as many below."""
    line = [u.id for u in await ctx.store.org.lineage(report.village_id)]
    if report.unit_id not in line:  # not on its village's line: only it and above
        return {u.id for u in await ctx.store.org.lineage(report.unit_id)}
    climbs = sum(e.kind == "escalated" for e in await ctx.store.reports.timeline(report.id))
    held = line.index(report.unit_id)
    return set(line[max(0, held - climbs) :])
