"""改类: a cadre of the tier that holds a report says what it really is. The report moves to
that category, goes to whoever handles it if nobody has taken it on yet, and the change is on
its timeline; the words with the old and the new category are kept, so that admins can add
them to the understanding corpus (`villagebot export corrections`)."""

from __future__ import annotations

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from handlers.reports.access import open_report_to_act_on
from handlers.reports.lifecycle import Tell, category_shown, number_and_rest
from handlers.reports.routing import route
from storage.models import CADRE_ROLES, CategoryCorrection, Report
from understanding import Category

router = Router(name="reports.correcting")


@router.message(
    Command("改类", "recategorise"), roles=CADRE_ROLES, menu="menu.recategorise", menu_order=48
)
async def recategorise(msg: InboundMessage, ctx: Context) -> Reply:
    """改类 12 水利设施"""
    number, name = number_and_rest(ctx.args)
    report = await open_report_to_act_on(ctx, number, "report.cmd.recategorise")
    if isinstance(report, Reply):
        return report
    chosen = _category(ctx, name.strip("【】[] "))
    if chosen is None:
        names = "、".join(category_shown(ctx.t, n) for n in ctx.understanding.categories)
        return ctx.reply("report.recategorise_usage", names=names)
    if chosen.name == report.category:
        shown = category_shown(ctx.t, chosen.name)
        return ctx.reply("report.recategorise_same", number=report.id, category=shown)
    assert ctx.person is not None
    now, old = ctx.clock.now(), report.category
    report.category = chosen.name
    ctx.store.reports.correct_category(
        CategoryCorrection(
            report_id=report.id,
            text=report.text[:1000],
            old=old,
            new=chosen.name,
            person_id=ctx.person.id,
            at=now,
        )
    )
    moved = await _reroute(ctx, report, chosen)
    await ctx.store.reports.event(
        report, "recategorised", at=now, actor_id=ctx.person.id, note=f"{old} → {chosen.name}"
    )
    tell = Tell.of(ctx)
    actors = await tell.actors(report)
    await tell.tier(
        report,
        "report.recategorised_group",
        mention=actors.mention,
        old=category_shown(lambda key: tell.text(None, key), old),
        who=ctx.person.name,
        next=actors.who,
    )
    key = "report.recategorised_moved" if moved else "report.recategorised"
    return ctx.reply(key, number=report.id, category=category_shown(ctx.t, chosen.name))


def _category(ctx: Context, name: str) -> Category | None:
    """A category by its name, or as the cadre reads it in their language."""
    for category in ctx.understanding.categories.values():
        if name in (category.name, category_shown(ctx.t, category.name)):
            return category
    return None


async def _reroute(ctx: Context, report: Report, category: Category) -> bool:
    """Nobody has taken it on: it goes to whoever handles the new category (the township's
    technician for 农技问诊). True if it moved."""
    if report.accepted_at is not None:
        return False
    to = await route(
        ctx.store, report.village_id, report.grid_id, category.name, category.handled_by
    )
    if (to.unit_id, to.assignee_id) == (report.unit_id, report.assignee_id):
        return False
    report.unit_id, report.assignee_id = to.unit_id, to.assignee_id
    return True
