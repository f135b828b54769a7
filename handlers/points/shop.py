"""积分 at the 爱心超市: the village's goods with their prices and what is left (积分商品), a
redemption (兑换 菜籽油 [2]) that takes the points and sets the goods aside at once and
answers with a pickup code, and the cadres' side: the handover (兑付 码) or its cancellation
(取消兑换 码: points and stock back), and the shelf (上架 商品 积分 库存, 补货 商品 数量). A
village's shelf starts with locales/points.yaml's goods the first time anyone looks."""

from __future__ import annotations

import secrets

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from handlers.points.reviewing import REVIEWERS, villages
from handlers.points.rules import book
from handlers.tell import Tell
from storage.models import REDEEM, Good, PointEntry, Redemption, RedemptionStatus, Role

router = Router(name="points.shop")
MOST = 20  # of one good in one redemption


@router.message(
    Command("积分商品", "points goods"), roles={Role.VILLAGER}, menu="menu.goods", menu_order=37
)
async def goods(msg: InboundMessage, ctx: Context) -> Reply:
    village = ctx.person.village_id if ctx.person else None
    if village is None:
        return ctx.reply("points.no_household")
    shelf = await _shelf(ctx, village)
    lines = [ctx.t("points.goods_title")]
    lines += [
        ctx.t(
            "points.good_line", code=g.code, name=g.name, price=g.price, unit=g.unit, stock=g.stock
        )
        for g in shelf
    ]
    lines.append(ctx.t("points.goods_hint"))
    return Reply.of_text("\n".join(lines))


@router.message(Command("兑换", "redeem"), roles={Role.VILLAGER})
async def redeem(msg: InboundMessage, ctx: Context) -> Reply:
    """兑换 菜籽油, 兑换 G11 2"""
    person = ctx.person
    if person is None or person.household_id is None or person.village_id is None:
        return ctx.reply("points.no_household")
    words, quantity = _name_and_count(ctx.args)
    if not words or quantity < 1 or quantity > MOST:
        return ctx.reply("points.redeem_usage", most=MOST)
    await _shelf(ctx, person.village_id)
    good = await ctx.store.points.good(person.village_id, words)
    if good is None:
        return ctx.reply("points.no_such_good", name=words)
    cost = good.price * quantity
    if not await ctx.store.points.take(good.id, quantity):
        return ctx.reply("points.sold_out", name=good.name, stock=good.stock)
    code = await _pickup_code(ctx)
    entry = PointEntry(
        household_id=person.household_id,
        village_id=person.village_id,
        rule=REDEEM,
        points=-cost,
        at=ctx.clock.now(),
        actor_id=person.id,
        note=f"{good.name}×{quantity}",
        source=f"redeem:{code}",
    )
    if not await ctx.store.points.spend(entry):
        await ctx.store.points.restock(good.id, quantity)  # the same transaction: as if untaken
        balance = await ctx.store.points.balance(person.household_id)
        return ctx.reply("points.not_enough", cost=cost, balance=balance, name=good.name)
    await ctx.store.points.redeem(
        Redemption(
            household_id=person.household_id,
            village_id=person.village_id,
            person_id=person.id,
            good_id=good.id,
            quantity=quantity,
            points=cost,
            code=code,
            status=RedemptionStatus.RESERVED,
            at=entry.at,
        )
    )
    balance = await ctx.store.points.balance(person.household_id)
    await Tell.of(ctx).groups(
        person.village_id,
        "points.redeemed_group",
        purpose="points",
        name=person.name,
        good=good.name,
        quantity=quantity,
        cost=cost,
        code=code,
    )
    return ctx.reply(
        "points.redeemed", good=good.name, quantity=quantity, cost=cost, balance=balance, code=code
    )


@router.message(Command("兑付", "hand over"), roles=REVIEWERS)
async def hand_over(msg: InboundMessage, ctx: Context) -> Reply:
    """兑付 123456: the goods were collected."""
    redemption = await _reserved(ctx)
    if isinstance(redemption, Reply):
        return redemption
    assert ctx.person is not None
    redemption.status = RedemptionStatus.HANDED
    redemption.handled_by, redemption.handled_at = ctx.person.id, ctx.clock.now()
    good = await ctx.store.session.get(Good, redemption.good_id)
    name = good.name if good else ""
    await _tell(ctx, redemption, "points.handed_villager", good=name)
    return ctx.reply(
        "points.handed", code=redemption.code, good=name, quantity=redemption.quantity
    )


@router.message(Command("取消兑换", "cancel redemption"), roles=REVIEWERS)
async def cancel(msg: InboundMessage, ctx: Context) -> Reply:
    """取消兑换 123456: the points go back to the household, the goods to the shelf."""
    redemption = await _reserved(ctx)
    if isinstance(redemption, Reply):
        return redemption
    assert ctx.person is not None
    now = ctx.clock.now()
    spent = await ctx.store.points.entry_of(f"redeem:{redemption.code}")
    await ctx.store.points.add(
        PointEntry(
            household_id=redemption.household_id,
            village_id=redemption.village_id,
            rule=REDEEM,
            points=redemption.points,
            at=now,
            actor_id=ctx.person.id,
            note=ctx.t("points.cancelled_note"),
            source=f"redeem-cancelled:{redemption.code}",
            reverses_id=spent.id if spent else None,
        )
    )
    await ctx.store.points.restock(redemption.good_id, redemption.quantity)
    redemption.status = RedemptionStatus.CANCELLED
    redemption.handled_by, redemption.handled_at = ctx.person.id, now
    await _tell(ctx, redemption, "points.cancelled_villager", points=redemption.points)
    return ctx.reply("points.cancelled", code=redemption.code, points=redemption.points)


@router.message(Command("上架", "shelve"), roles=REVIEWERS)
async def shelve(msg: InboundMessage, ctx: Context) -> Reply:
    """上架 洗发水 20 30: a good, its price in points, how many."""
    parts = ctx.args.split()
    village = _own_village(ctx)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit() or village is None:
        return ctx.reply("points.shelve_usage")
    name, price, stock = parts[0][:32], int(parts[1]), int(parts[2])
    if price < 1:
        return ctx.reply("points.shelve_usage")
    shelf = await _shelf(ctx, village)
    if any(g.name == name for g in shelf):
        return ctx.reply("points.shelved_already", name=name)
    code = f"G{len(shelf) + 1:02d}"
    while any(g.code == code for g in shelf):
        code = f"G{int(code[1:]) + 1:02d}"
    ctx.store.points.shelve(
        Good(village_id=village, code=code, name=name, unit="", price=price, stock=stock)
    )
    return ctx.reply("points.shelved", code=code, name=name, price=price, stock=stock)


@router.message(Command("补货", "restock"), roles=REVIEWERS)
async def restock(msg: InboundMessage, ctx: Context) -> Reply:
    """补货 菜籽油 10"""
    words, quantity = _name_and_count(ctx.args, default=0)
    village = _own_village(ctx)
    if not words or quantity < 1 or village is None:
        return ctx.reply("points.restock_usage")
    await _shelf(ctx, village)
    good = await ctx.store.points.good(village, words)
    if good is None:
        return ctx.reply("points.no_such_good", name=words)
    await ctx.store.points.restock(good.id, quantity)
    return ctx.reply("points.restocked", name=good.name, stock=good.stock + quantity)


async def _shelf(ctx: Context, village_id: int) -> list[Good]:
    """The village's goods; the defaults put on its shelf the first time."""
    shelf = list(await ctx.store.points.goods(village_id))
    if not shelf:
        defaults = [
            Good(
                village_id=village_id,
                code=g.code,
                name=g.name,
                unit=g.unit,
                price=g.price,
                stock=g.stock,
            )
            for g in book().goods
        ]
        await ctx.store.points.first_shelf(defaults)
        shelf = list(await ctx.store.points.goods(village_id))
    return shelf


async def _reserved(ctx: Context) -> Redemption | Reply:
    code = ctx.args.strip()
    if not code:
        return ctx.reply("points.code_usage")
    redemption = await ctx.store.points.redemption(code, lock=True)
    if redemption is None or redemption.village_id not in villages(ctx):
        return ctx.reply("points.no_such_code", code=code)
    if redemption.status is not RedemptionStatus.RESERVED:
        status = ctx.t(f"points.redemption.{redemption.status}")
        return ctx.reply("points.code_done", code=code, status=status)
    return redemption


async def _pickup_code(ctx: Context) -> str:
    while True:
        code = f"{secrets.randbelow(900_000) + 100_000}"
        if not await ctx.store.points.code_taken(code):
            return code


async def _tell(ctx: Context, redemption: Redemption, key: str, **values: object) -> None:
    person = await ctx.store.people.get(redemption.person_id)
    if person is not None:
        await Tell.of(ctx).person(person, key, "points", code=redemption.code, **values)


def _own_village(ctx: Context) -> int | None:
    own = sorted(villages(ctx))
    return own[0] if own else None


def _name_and_count(args: str, default: int = 1) -> tuple[str, int]:
    """ "菜籽油 2" -> ("菜籽油", 2); "菜籽油" -> ("菜籽油", default)."""
    parts = args.split()
    if len(parts) >= 2 and parts[-1].isdigit():
        return " ".join(parts[:-1]), int(parts[-1])
    return " ".join(parts), default
