"""Writing to a household's ledger and showing it: an entry under a rule, held to the rule's
monthly cap, its balance moved in the same transaction; entries as lines people read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.context import Context
from handlers.points.rules import Rule, month_start, rules
from storage.models import OPENING, REDEEM, PointEntry
from storage.repos import Store

SPECIAL = {REDEEM: "points.redeem_entry", OPENING: "points.opening_entry"}  # not rules


def points_shown(points: int) -> str:
    return f"+{points}" if points > 0 else str(points)


async def credit(
    store: Store,
    *,
    household_id: int,
    village_id: int,
    rule: Rule,
    at: datetime,
    zone: ZoneInfo,
    actor_id: int | None,
    note: str = "",
    source: str | None = None,
) -> int | None:
    """Enter the rule's points for the household, no more than its monthly cap leaves (a
    deduction likewise). The points entered; 0 when the cap is reached; None when the source
    has earned already (nothing is written)."""
    points = rule.points
    if rule.monthly_cap is not None:
        had = abs(await store.points.from_rule(household_id, rule.code, month_start(at, zone)))
        left = max(0, rule.monthly_cap - had)
        points = min(points, left) if points > 0 else max(points, -left)
    if points == 0:
        return 0
    entry = PointEntry(
        household_id=household_id,
        village_id=village_id,
        rule=rule.code,
        points=points,
        at=at,
        actor_id=actor_id,
        note=note[:200],
        source=source,
    )
    return points if await store.points.add(entry) else None


async def entry_lines(ctx: Context, entries: Sequence[PointEntry]) -> list[str]:
    zone = ZoneInfo(ctx.settings.timezone)
    book = await rules(ctx.store, ctx.person.village_id if ctx.person else None)
    lines = []
    for e in entries:
        rule = book.rule(e.rule)
        name = ctx.t(SPECIAL[e.rule]) if e.rule in SPECIAL else rule.name if rule else e.rule
        lines.append(
            ctx.t(
                "points.entry_line",
                date=e.at.astimezone(zone).strftime("%m-%d"),
                points=points_shown(e.points),
                rule=name,
                note=f"（{e.note}）" if e.note else "",
            )
        )
    return lines
