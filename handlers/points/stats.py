"""积分统计: for a cadre's villages (a village cadre's own; a township's or county's every
village below it, to read), the points their households hold, this month's entries and the
participation rate (households with any entry this month of all households)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from handlers.points.reviewing import readable
from handlers.points.rules import month_start
from storage.models import CADRE_ROLES

router = Router(name="points.stats")
MOST = 40  # villages listed in one answer


@router.message(
    Command("积分统计", "points stats"), roles=CADRE_ROLES, menu="menu.points_stats", menu_order=58
)
async def stats(msg: InboundMessage, ctx: Context) -> Reply:
    villages = await readable(ctx)
    if not villages:
        return ctx.reply("points.stats_none")
    since = month_start(ctx.clock.now(), ZoneInfo(ctx.settings.timezone))
    figures = await ctx.store.boards.village_stats(sorted(villages), since)
    rows = sorted(figures.items(), key=lambda kv: -(kv[1][2] / kv[1][1] if kv[1][1] else 0))
    lines = [ctx.t("points.stats_title", month=since.month, villages=len(villages))]
    for village_id, (held, homes, active, entries) in rows[:MOST]:
        rate = f"{active / homes:.0%}" if homes else "—"
        lines.append(
            ctx.t(
                "points.stats_line",
                village=villages[village_id],
                held=held,
                entries=entries,
                active=active,
                homes=homes,
                rate=rate,
            )
        )
    if len(rows) > MOST:
        lines.append(ctx.t("points.stats_more", more=len(rows) - MOST))
    return Reply.of_text("\n".join(lines))
