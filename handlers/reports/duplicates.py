"""The same problem reported twice: an open report of the village and category, recent, and
near when both are located, takes the second reporter on as a follower (and their photos)
instead of making a second report."""

from __future__ import annotations

import math
from datetime import timedelta

from bot.context import Context
from bot.message import InboundMessage, Location, Reply
from handlers.reports.lifecycle import Tell
from storage.models import Report, ReportFollower


async def same_problem(
    ctx: Context, village_id: int, category: str, where: Location | None
) -> Report | None:
    """An open report of the village and category, recent, and near when both are located."""
    since = ctx.clock.now() - timedelta(hours=ctx.settings.report_duplicate_hours)
    for other in await ctx.store.reports.open_like(village_id, category, since):
        if where is not None and other.latitude is not None and other.longitude is not None:
            metres = _distance(where.latitude, where.longitude, other.latitude, other.longitude)
            if metres > ctx.settings.report_duplicate_metres:
                continue
        return other
    return None


async def follow(msg: InboundMessage, ctx: Context, report: Report, photos: list[str]) -> Reply:
    """Link the sender to the open report of the same problem; their photos join it."""
    assert ctx.person is not None
    now = ctx.clock.now()
    if report.reporter_id == ctx.person.id:
        added = False
    else:
        follower = ReportFollower(
            report_id=report.id,
            person_id=ctx.person.id,
            channel=msg.channel,
            chat_id=msg.chat_id,
            chat_is_group=msg.is_group,
            at=now,
        )
        added = await ctx.store.reports.follow(report, follower)
    if added or photos:
        event = await ctx.store.reports.event(
            report, "also_reported", at=now, actor_id=ctx.person.id
        )
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
