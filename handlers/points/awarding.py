"""积分 granted or deducted by a village cadre: 加分 王秀英 孝老爱亲 [说明] under a rule cadres
award (or one villagers claim), 扣分 王秀英 焚烧秸秆 原因 under a deduction, the reason
required. Two villagers of one name: the bot asks for the phone's last four digits, as
转派 does (加分 王秀英 1111 孝老爱亲). The household is told; the rule's monthly cap holds."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from handlers.points.ledger import credit, points_shown
from handlers.points.reviewing import REVIEWERS, villages
from handlers.points.rules import Book, How, Rule, rules
from handlers.tell import Tell
from storage.models import Person

router = Router(name="points.awarding")


@router.message(Command("加分", "award"), roles=REVIEWERS, menu="menu.award", menu_order=57)
async def award(msg: InboundMessage, ctx: Context) -> Reply:
    return await _enter(ctx, deduct=False)


@router.message(Command("扣分", "deduct"), roles=REVIEWERS)
async def deduct(msg: InboundMessage, ctx: Context) -> Reply:
    return await _enter(ctx, deduct=True)


async def _enter(ctx: Context, *, deduct: bool) -> Reply:
    usage = "points.deduct_usage" if deduct else "points.award_usage"
    words = ctx.args.split()
    if len(words) < 2:
        return ctx.reply(usage)
    name, rest = words[0].lstrip("@＠"), words[1:]
    last4 = rest.pop(0) if rest and len(rest[0]) == 4 and rest[0].isdigit() else ""
    if not rest:
        return ctx.reply(usage)
    person = await _villager(ctx, name, last4, " ".join(rest))
    if isinstance(person, Reply):
        return person
    assert ctx.person is not None
    assert person.household_id is not None
    assert person.village_id is not None
    rule = _rule(await rules(ctx.store, person.village_id), rest[0], deduct=deduct)
    note = " ".join(rest[1:])
    if rule is None:
        return ctx.reply(usage)
    if deduct and not note:
        return ctx.reply("points.deduct_needs_reason")
    entered = await credit(
        ctx.store,
        household_id=person.household_id,
        village_id=person.village_id,
        rule=rule,
        at=ctx.clock.now(),
        zone=ZoneInfo(ctx.settings.timezone),
        actor_id=ctx.person.id,
        note=note,
    )
    shown = points_shown(entered or 0)
    if not entered:
        return ctx.reply("points.cap_reached", rule=rule.name, cap=rule.monthly_cap)
    balance = await ctx.store.points.balance(person.household_id)
    await Tell.of(ctx).person(
        person,
        "points.entered_villager",
        "points",
        rule=rule.name,
        points=shown,
        note=note or "—",
        balance=balance,
    )
    return ctx.reply(
        "points.entered", name=person.name, rule=rule.name, points=shown, balance=balance
    )


def _rule(book: Book, words: str, *, deduct: bool) -> Rule | None:
    for how in (How.AWARD, How.CLAIM):
        rule = book.find(words, how=how)
        if rule is not None and (rule.points < 0) == deduct:
            return rule
    return None


async def _villager(ctx: Context, name: str, last4: str, rest: str) -> Person | Reply:
    """The villager of this cadre's villages so named (and with those last digits)."""
    named = await ctx.store.people.named_in(sorted(villages(ctx)), name)
    chosen = [p for p in named if not last4 or p.phone_last4 == last4]
    if not chosen:
        return ctx.reply("points.no_such_villager", name=name)
    if len(chosen) > 1:
        return ctx.reply(
            "points.which_villager",
            name=name,
            last4="、".join(p.phone_last4 for p in chosen),
            example=f"{name} {chosen[0].phone_last4} {rest}",
            command=ctx.t("points.cmd.award"),
        )
    return chosen[0]
