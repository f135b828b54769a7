"""The same problem reported twice. An open report of the village and category, recent and
located within the radius of the new one's pin, is that problem: the second reporter follows
it (their photos join it) instead of making a second report, and what they said is kept with
the link, for `不是同一件`. Words alone do not decide it: on the corpus's pairs of reports
(understanding/data/pairs_*.csv) no likeness of the words told the same problem from another
at the same place (bench/understanding.py), so the new report is made and the villager is
asked, with the likeliest open one, whether it is the same (`同一件` joins them)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from bot.context import Context
from bot.message import InboundMessage, Location, Reply
from handlers.reports.lifecycle import Tell
from storage.models import Report, ReportFollower


@dataclass(frozen=True, slots=True)
class Same:
    report: Report | None = None  # the open report of this problem (pins within the radius)
    maybe: Report | None = None  # the open one likeliest to be it, by the words


async def same_problem(
    ctx: Context, village_id: int, category: str, text: str, where: Location | None
) -> Same:
    """The open report of the village and category, recent, whose pin is within the radius
    of this one; else the one whose words are likeliest the same (not one whose pin is
    further away)."""
    since = ctx.clock.now() - timedelta(hours=ctx.settings.report_duplicate_hours)
    alike: list[tuple[float, int, Report]] = []
    for other in await ctx.store.reports.open_like(village_id, category, since):
        if where is not None and other.latitude is not None and other.longitude is not None:
            metres = _distance(where.latitude, where.longitude, other.latitude, other.longitude)
            if metres <= ctx.settings.report_duplicate_metres:
                return Same(report=other)
            continue
        likeness = ctx.understanding.likeness(text, other.text) if text and other.text else 0.0
        alike.append((likeness, other.id, other))
    return Same(maybe=max(alike)[2]) if alike else Same()


async def follow(
    msg: InboundMessage,
    ctx: Context,
    report: Report,
    said: tuple[str, list[str], Location | None, str],
) -> Reply:
    """Link the sender to the open report of the same problem; their photos join it. `said`:
    their words, photos, pin and place."""
    assert ctx.person is not None
    text, photos, where, place = said
    now = ctx.clock.now()
    follower = ReportFollower(
        report_id=report.id,
        person_id=ctx.person.id,
        channel=msg.channel,
        chat_id=msg.chat_id,
        chat_is_group=msg.is_group,
        at=now,
        text=text[:1000],
        place=(place or (where.label if where else ""))[:128],
        latitude=where.latitude if where else None,
        longitude=where.longitude if where else None,
    )
    added = await ctx.store.reports.follow(report, follower)
    if added or photos:
        event = await ctx.store.reports.event(
            report, "also_reported", at=now, actor_id=ctx.person.id
        )
        if added:
            follower.event_id = event.id
        for name in photos:
            ctx.store.reports.photo(report, name, event=event, proof=False)
    count = (await ctx.store.reports.reporters([report.id]))[report.id]
    if added:
        await Tell.of(ctx).tier(
            report, "report.also_reported_group", count=count, photos=len(photos)
        )
    if report.reporter_id == ctx.person.id:
        return ctx.reply("report.already_yours", number=report.id)
    return ctx.reply("report.duplicate", number=report.id, count=count)


def _distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two points on the Earth (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))
