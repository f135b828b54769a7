"""分类词: an admin reads and changes the words that point to each 随手拍 category, without a
restart. Changes are kept in the database on top of the file's defaults; this instance uses
them at once, the others within a minute."""

from __future__ import annotations

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from handlers.reports.lifecycle import category_shown
from storage.models import CategoryWord, Role
from understanding import OTHER, Category

router = Router(name="reports.words")

ADD = ("加", "增加", "add")
REMOVE = ("删", "删除", "remove")
MAX_WORD = 16


@router.message(
    Command("分类词", "category words"),
    roles={Role.ADMIN},
    menu="menu.category_words",
    menu_order=90,
)
async def category_words(msg: InboundMessage, ctx: Context) -> Reply:
    """分类词 | 分类词 路灯电力 | 分类词 路灯电力 加 灯泡 灯杆 | 分类词 路灯电力 删 电表"""
    categories = ctx.understanding.categories
    parts = ctx.args.split()
    if not parts:
        return _overview(ctx, categories)
    name, action, words = parts[0], (parts[1] if len(parts) > 1 else ""), parts[2:]
    category = categories.get(name)
    if category is None:
        names = ctx.t("report.name_separator").join(_label(ctx, c) for c in categories)
        return ctx.reply("report.words_unknown", category=name, names=names)
    if not action:
        return ctx.reply(
            "report.words_list", category=_label(ctx, name), words=_listed(ctx, category.words)
        )
    removed = action in REMOVE
    if not (removed or action in ADD) or not words:
        return ctx.reply("report.words_usage")
    if name == OTHER and not removed:
        return ctx.reply("report.words_other")
    bad = [w for w in words if len(w) > MAX_WORD or w.isdigit()]
    if bad:
        return ctx.reply("report.words_bad", words="、".join(bad), max=MAX_WORD)
    missing = [w for w in words if removed and w not in category.words]
    if missing:
        return ctx.reply(
            "report.words_missing", category=_label(ctx, name), words="、".join(missing)
        )
    assert ctx.person is not None
    now = ctx.clock.now()
    for word in dict.fromkeys(words):
        ctx.store.reports.change_category_word(
            CategoryWord(
                category=name, word=word, removed=removed, person_id=ctx.person.id, at=now
            )
        )
    await ctx.store.session.flush()
    # this instance at once; the others within a minute
    await ctx.understanding.refresh(ctx.store, force=True)
    now_words = ctx.understanding.categories[name].words
    return ctx.reply(
        "report.words_changed", category=_label(ctx, name), words=_listed(ctx, now_words)
    )


def _overview(ctx: Context, categories: dict[str, Category]) -> Reply:
    lines = [ctx.t("report.words_title")]
    lines += [
        ctx.t("report.words_count", category=_label(ctx, c.name), count=len(c.words))
        for c in categories.values()
    ]
    lines.append(ctx.t("report.words_usage"))
    return Reply.of_text("\n".join(lines))


def _label(ctx: Context, name: str) -> str:
    """A category as an admin reads it, with the name they type when that is other words."""
    shown = category_shown(ctx.t, name)
    return name if shown == name else ctx.t("category.with_name", shown=shown, name=name)


def _listed(ctx: Context, words: tuple[str, ...]) -> str:
    return "、".join(words) if words else ctx.t("report.words_none")
