"""积分规则 加 / 删: an admin changes the points rules in chat, for every village at once and
on every instance (the changes live in the database, on top of locales/points.yaml):

    积分规则 加 捡白色垃圾 2 环境卫生 申报 每月10 捡拾路边的白色垃圾
    积分规则 加 乱扔农药瓶 -5 环境卫生 奖励 黑榜 把农药瓶扔进沟渠
    积分规则 删 捡白色垃圾

A rule added with a name in use replaces it (keeping its code, so its entries still name
it); a removed rule can no longer be claimed or awarded, and still names its entries."""

from __future__ import annotations

import re

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from handlers.points.ledger import points_shown
from handlers.points.rules import Book, How, rules
from storage.models import PointRuleChange, Role

router = Router(name="points.editing")
EDIT = Command("积分规则", "points rules")
ADD, REMOVE = ("加", "add"), ("删", "remove")
HOW = {"申报": How.CLAIM, "claim": How.CLAIM, "奖励": How.AWARD, "award": How.AWARD}
CAP = re.compile(r"^每月(\d+)$|^cap(\d+)$")


def is_edit(msg: InboundMessage, ctx: Context) -> bool:
    """积分规则 加 … / 删 …, not the list villagers ask for."""
    args = EDIT.args(msg.text)
    return args is not None and args.split(" ", 1)[0] in (*ADD, *REMOVE)


@router.message(EDIT, is_edit, roles={Role.ADMIN})
async def edit(msg: InboundMessage, ctx: Context) -> Reply:
    verb, _, rest = ctx.args.partition(" ")
    book = await rules(ctx.store)
    if verb in REMOVE:
        rule = book.find(rest.strip())
        if rule is None:
            return ctx.reply("points.rule_unknown", name=rest.strip())
        _change(ctx, PointRuleChange(code=rule.code, name=rule.name, removed=True))
        return ctx.reply("points.rule_removed", name=rule.name)
    change = _parsed(rest.split(), book)
    if change is None:
        return ctx.reply("points.rule_edit_usage", classes="、".join(book.classes))
    _change(ctx, change)
    cap = ctx.t("points.rule_cap", cap=change.monthly_cap) if change.monthly_cap else ""
    return ctx.reply(
        "points.rule_added",
        code=change.code,
        name=change.name,
        points=points_shown(change.points),
        cap=cap,
        how=ctx.t(f"points.how.{change.how}"),
    )


def _parsed(words: list[str], book: Book) -> PointRuleChange | None:
    """名称 分数 类别 方式 [每月N] [黑榜] [说明…]"""
    if len(words) < 4 or not re.fullmatch(r"[+-]?\d{1,3}", words[1]):
        return None
    name, points, klass, how = words[0][:16], int(words[1]), words[2], HOW.get(words[3])
    if klass not in book.classes or how is None or points == 0:
        return None
    rest = words[4:]
    cap = None
    if rest and (m := CAP.match(rest[0])):
        cap, rest = int(m.group(1) or m.group(2)), rest[1:]
    black = bool(rest) and rest[0] in ("黑榜", "black") and points < 0
    if black:
        rest = rest[1:]
    same = next((r for r in book.rules if r.name == name and not r.retired), None)
    code = same.code if same else _new_code(book)
    return PointRuleChange(
        code=code,
        name=name,
        klass=klass,
        points=points,
        how=how.value,
        monthly_cap=cap,
        black_board=black,
        what=" ".join(rest)[:100],
    )


def _new_code(book: Book) -> str:
    taken = {r.code for r in book.rules}
    n = 1
    while f"A{n:02d}" in taken:
        n += 1
    return f"A{n:02d}"


def _change(ctx: Context, change: PointRuleChange) -> None:
    assert ctx.person is not None
    change.person_id, change.at = ctx.person.id, ctx.clock.now()
    ctx.store.points.change_rule(change)
