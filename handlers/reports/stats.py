"""本村统计: how a village (or every village under a township or county) handles its reports.

The figures, for reports made in the period (rejected ones count only in their own line):
- closure rate: resolved or closed / all not rejected;
- on-time rate: resolved by the resolve deadline / those resolved or whose deadline has passed
  (an open report past its deadline is late, not left out);
- hours to accept and to resolve: means from the report's creation;
- satisfaction: 满意 / (满意 + 不满意), the reporter's last word; an automatic close is no word.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import fmean

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from storage.models import CADRE_ROLES, OPEN_STATUSES, Level, OrgUnit, Report, ReportStatus

router = Router(name="reports.stats")

PERIOD_DAYS = 30
ALL_WORDS = ("全部", "all")


@dataclass(frozen=True, slots=True)
class ReportStats:
    total: int
    open: int
    awaiting: int  # resolved, waiting for the reporter's word
    closed: int
    rejected: int
    closure_rate: float | None
    on_time_rate: float | None
    hours_to_accept: float | None
    hours_to_resolve: float | None
    satisfaction: float | None
    verdicts: int


def summarize(reports: Iterable[Report], now: datetime) -> ReportStats:
    rows = list(reports)
    handled = [r for r in rows if r.status is not ReportStatus.REJECTED]
    resolved = [r for r in handled if r.resolved_at is not None]
    due = [r for r in handled if r.resolved_at is not None or now > r.resolve_due_at]
    on_time = [
        r for r in resolved if r.resolved_at is not None and r.resolved_at <= r.resolve_due_at
    ]
    accepted = [r for r in handled if r.accepted_at is not None]
    verdicts = [r.satisfied for r in rows if r.satisfied is not None]
    return ReportStats(
        total=len(rows),
        open=sum(r.status in OPEN_STATUSES for r in rows),
        awaiting=sum(r.status is ReportStatus.RESOLVED for r in rows),
        closed=sum(r.status is ReportStatus.CLOSED for r in rows),
        rejected=len(rows) - len(handled),
        closure_rate=_share(len(resolved), len(handled)),
        on_time_rate=_share(len(on_time), len(due)),
        hours_to_accept=_mean_hours((r.accepted_at, r.created_at) for r in accepted),
        hours_to_resolve=_mean_hours((r.resolved_at, r.created_at) for r in resolved),
        satisfaction=_share(sum(verdicts), len(verdicts)),
        verdicts=len(verdicts),
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean_hours(spans: Iterable[tuple[datetime | None, datetime]]) -> float | None:
    hours = [(end - start).total_seconds() / 3600 for end, start in spans if end is not None]
    return fmean(hours) if hours else None


@router.message(
    Command("本村统计", "统计", "stats"), roles=CADRE_ROLES, menu="menu.stats", menu_order=47
)
async def village_stats(msg: InboundMessage, ctx: Context) -> Reply:
    """The figures for the villages this cadre serves, over 30 days (or 全部: all time)."""
    units = await _served_units(ctx)
    villages = await _villages(ctx, units)
    if not villages:
        return ctx.reply("report.stats_no_village")
    now = ctx.clock.now()
    everything = ctx.args.strip() in ALL_WORDS
    since = None if everything else now - timedelta(days=PERIOD_DAYS)
    stats = summarize(await ctx.store.reports.of_villages(villages, since), now)
    period = (
        ctx.t("report.stats_all") if everything else ctx.t("report.stats_days", days=PERIOD_DAYS)
    )
    lines = [
        ctx.t("report.stats_title", unit="、".join(u.name for u in units), period=period),
        ctx.t(
            "report.stats_counts",
            total=stats.total,
            open=stats.open,
            awaiting=stats.awaiting,
            closed=stats.closed,
            rejected=stats.rejected,
        ),
        ctx.t(
            "report.stats_rates",
            closure=percent(stats.closure_rate),
            on_time=percent(stats.on_time_rate),
        ),
        ctx.t(
            "report.stats_hours",
            accept=hours(stats.hours_to_accept),
            resolve=hours(stats.hours_to_resolve),
        ),
        ctx.t(
            "report.stats_satisfaction",
            satisfaction=percent(stats.satisfaction),
            count=stats.verdicts,
        ),
    ]
    asked, kept = await ctx.store.policy.reply_counts(
        villages, since or datetime.min.replace(tzinfo=UTC), now, now
    )
    lines.append(
        ctx.t("policy.stats_replies", rate=percent(kept / asked if asked else None), count=asked)
    )
    if not everything:
        lines.append(ctx.t("report.stats_hint"))
    return Reply.of_text("\n".join(lines))


async def _served_units(ctx: Context) -> list[OrgUnit]:
    """The units whose figures this cadre sees: a grid worker sees its village."""
    units: dict[int, OrgUnit] = {}
    for a in ctx.assignments:
        unit = await ctx.store.org.get(a.org_unit_id)
        if unit is not None and unit.level is Level.GRID and unit.parent_id is not None:
            unit = await ctx.store.org.get(unit.parent_id)
        if unit is not None:
            units[unit.id] = unit
    return list(units.values())


async def _villages(ctx: Context, units: list[OrgUnit]) -> list[int]:
    found: set[int] = set()
    for unit in units:
        if unit.level is Level.VILLAGE:
            found.add(unit.id)
        else:
            found |= {u.id for u in await ctx.store.org.below(unit.id) if u.level is Level.VILLAGE}
    return sorted(found)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"
