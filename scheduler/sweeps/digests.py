"""Digest sweeps, what the scheduler sends: each evening, a village's day (reports made, fixed and
late, elder alerts open, notices owed) to its cadre group; each Monday, a township's villages
or a county's townships ranked in a table for the week.

Each goes once per group and period: a mark in the transaction that queues it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.channels.escape import user_text
from handlers.points.rules import month_start
from handlers.reports.stats import ReportStats, hours, percent, summarize
from handlers.tell import Tell
from scheduler.jobs import JobContext, job
from storage.models import Level, OrgUnit
from storage.repos.sweeps import WeekCounts

DAILY, WEEKLY = "digest-daily", "digest-weekly"
DIGEST_BATCH = 200  # villages per transaction of the daily digest
MAX_ROWS = 30  # units in a weekly table (WeCom takes 4,096 bytes of markdown; past it
# the rows drawn as lines say their headings once, above them)


async def daily(
    tell: Tell, villages: Sequence[OrgUnit], start: datetime, now: datetime, day: str
) -> int:
    """The day so far (from `start`, local midnight) of each village with anything to say,
    to its cadre groups; returns how many villages were sent one."""
    store = tell.store
    done = await store.sweeps.marked(DAILY, [f"{day}:{v.id}" for v in villages])
    villages = [v for v in villages if f"{day}:{v.id}" not in done]  # counted once a day
    counts = await store.sweeps.day([v.id for v in villages], start, now) if villages else {}
    sent = 0
    for village in villages:
        c = counts.get(village.id)
        if not c or not await store.sweeps.mark(DAILY, f"{day}:{village.id}", now):
            continue
        await tell.groups(
            village.id,
            "digest.daily",
            purpose="digest",
            village=village.name,
            date=day[5:],
            new=c.new,
            resolved=c.resolved,
            overdue=c.overdue,
            alerts=c.alerts,
            notices=c.notices,
        )
        sent += 1
    return sent


@dataclass(frozen=True, slots=True)
class Row:
    unit: OrgUnit
    reports: ReportStats
    week: WeekCounts
    participation: float | None = None  # households with a points entry this month, of all
    replied: float | None = None  # villagers' questions due this week answered on time

    def rank(self) -> tuple[float, float, int]:
        """Best first: the most fixed, then the most on time, then the busiest."""
        r = self.reports
        return (-(r.closure_rate or 0), -(r.on_time_rate or 0), -r.total)


async def weekly(
    tell: Tell,
    unit: OrgUnit,
    start: datetime,
    now: datetime,
    week: str,
    period: str,
    zone: ZoneInfo,
) -> bool:
    """A township's villages (a county's townships) ranked for the week, as a markdown table
    to its cadre groups (drawn as a numbered list or lines where a platform draws no
    tables: bot/channels/render.py); False if this week's was already sent."""
    store = tell.store
    if not await store.sweeps.mark(WEEKLY, f"{week}:{unit.id}", now):
        return False
    below = await store.org.below(unit.id)
    children = [u for u in below if u.parent_id == unit.id]
    # each village under the child it belongs to (a township's villages are its children)
    owner = {u.id: u.parent_id if unit.level is Level.COUNTY else u.id for u in below}
    villages = [u.id for u in below if u.level is Level.VILLAGE]
    reports = await store.reports.of_villages(villages, start)
    counts = await store.sweeps.week(villages, [u.id for u in below], start, now)
    points = await store.boards.village_stats(villages, month_start(now, zone)) if villages else {}
    rows = []
    for child in children:
        mine = [u.id for u in below if owner.get(u.id) == child.id or u.id == child.id]
        homes = sum(points[v][1] for v in mine if v in points)
        active = sum(points[v][2] for v in mine if v in points)
        week_counts = WeekCounts()
        for unit_id in mine:
            c = counts.get(unit_id)
            if c is not None:
                week_counts.notices += c.notices
                week_counts.answered += c.answered
                week_counts.alerts_raised += c.alerts_raised
                week_counts.alerts_closed += c.alerts_closed
        stats = summarize((r for r in reports if owner.get(r.village_id) == child.id), now)
        asked, kept = await store.policy.reply_counts(mine, start, now, now)
        participation = active / homes if homes else None
        rows.append(Row(child, stats, week_counts, participation, kept / asked if asked else None))
    rows.sort(key=Row.rank)
    table = []
    for place, row in enumerate(rows[:MAX_ROWS], 1):
        r, w = row.reports, row.week
        cells = [
            str(place),
            user_text(row.unit.name),  # a name as written: a `|` in it splits no cell
            str(r.total),
            percent(r.closure_rate),
            percent(r.on_time_rate),
            hours(r.hours_to_accept),
            hours(r.hours_to_resolve),
            percent(r.satisfaction),
            percent(w.answered / w.notices if w.notices else None),
            f"{w.alerts_raised}/{w.alerts_closed}",
            percent(row.participation),
            percent(row.replied),
        ]
        table.append("| " + " | ".join(cells) + " |")
    if len(rows) > MAX_ROWS:  # the platforms cut a markdown message at about 4 KB
        table.append(tell.text(None, "digest.weekly_more", count=len(rows) - MAX_ROWS))
    await tell.groups(
        unit.id,
        "digest.weekly",
        purpose="digest",
        markdown=True,
        unit=user_text(unit.name),
        period=period,
        rows="\n".join(table),
    )
    return True


@job("digest-daily", "each village's day, to its cadre group", "0 18 * * *")
async def digest_daily(jc: JobContext) -> int:
    """Each village with anything to say hears its day so far: reports made, fixed and
    late, elder alerts open, notices owed. Once a day per village."""
    zone = jc.zone
    local = jc.now.astimezone(zone)
    start = datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(UTC)
    sent, after = 0, 0
    while True:
        async with jc.uow() as store:
            villages = await store.sweeps.units_with_groups([Level.VILLAGE], after, DIGEST_BATCH)
            sent += await daily(jc.tell(store), villages, start, jc.now, local.date().isoformat())
        if len(villages) < DIGEST_BATCH:
            return sent
        after = villages[-1].id


@job("digest-weekly", "the week's ranking, to township and county groups", "30 8 * * 1")
async def digest_weekly(jc: JobContext) -> int:
    """Each township's villages (each county's townships) ranked for the last seven days, in
    a table: reports, closure and on-time rates, hours to accept and fix, satisfaction,
    notices answered, elder alerts raised and closed, and the month's points participation
    (households with an entry, of all). Once a week per group."""
    zone = jc.zone
    local = jc.now.astimezone(zone)
    start = jc.now - timedelta(days=7)
    year, week, _ = local.isocalendar()
    period = f"{start.astimezone(zone):%m-%d}—{local:%m-%d}"
    levels = [Level.TOWNSHIP, Level.COUNTY]
    sent, after = 0, 0
    while True:
        async with jc.uow() as store:  # one unit per transaction: a county's is a big table
            units = await store.sweeps.units_with_groups(levels, after, 1)
            for unit in units:
                sent += await weekly(
                    jc.tell(store), unit, start, jc.now, f"{year}-W{week:02d}", period, zone
                )
        if not units:
            return sent
        after = units[-1].id
