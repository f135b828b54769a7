"""关键词: admins teach the bot words, live. A word may be an auto-reply (回复), a report
category's word (类别, the same as 分类词), another name for a command (命令: 查分 ->
我的积分) or a synonym for finding answers (同义: 合作医疗 -> 医疗保险). Kept in the
database as a log of changes; this instance uses them at once, the others within a
minute (the understanding's refresh)."""

from __future__ import annotations

from dataclasses import replace

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import Command, KindIs, Router
from storage.models import CategoryWord, KeywordChange, KeywordKind, Role
from understanding import OTHER, Intent

router = Router(name="policy.keywords")

ADD, REMOVE = ("加", "增加", "add"), ("删", "删除", "remove")
KINDS = {
    "回复": KeywordKind.REPLY,
    "reply": KeywordKind.REPLY,
    "命令": KeywordKind.COMMAND,
    "command": KeywordKind.COMMAND,
    "同义": KeywordKind.SYNONYM,
    "synonym": KeywordKind.SYNONYM,
}
CATEGORY = ("类别", "category")
MAX_WORD, MAX_REPLY = 16, 600
_EDGES = " \t\r\n。.!！?？~～,，@"


def _alone(text: str) -> str:
    return text.strip().strip(_EDGES)


@router.message(
    Command("关键词", "keywords"), roles={Role.ADMIN}, menu="menu.keywords", menu_order=91
)
async def keywords(msg: InboundMessage, ctx: Context) -> Reply:
    """关键词 | 关键词 加 查分 命令 我的积分 | 关键词 加 五保 同义 特困供养 |
    关键词 加 办事时间 回复 周一到周五… | 关键词 加 灯泡 类别 路灯电力 | 关键词 删 查分"""
    parts = ctx.args.split(maxsplit=3)
    if not parts:
        return _listing(ctx)
    action = parts[0]
    if action in REMOVE and len(parts) == 2:
        return await _remove(ctx, parts[1])
    if action not in ADD or len(parts) < 4:
        return ctx.reply("keywords.usage")
    word, how, value = parts[1], parts[2], parts[3].strip()
    if len(word) > MAX_WORD or word.isdigit():
        return ctx.reply("keywords.bad_word", word=word, max=MAX_WORD)
    if how in CATEGORY:
        return await _category(ctx, word, value)
    kind = KINDS.get(how)
    if kind is None:
        return ctx.reply("keywords.usage")
    if kind is not KeywordKind.SYNONYM and ctx.menu.is_command(word):
        return ctx.reply("keywords.is_command", word=word)
    if kind is KeywordKind.COMMAND and not ctx.menu.is_command(value):
        return ctx.reply("keywords.not_a_command", command=value)
    if kind is KeywordKind.REPLY and len(value) > MAX_REPLY:
        return ctx.reply("keywords.reply_too_long", max=MAX_REPLY)
    if kind is KeywordKind.SYNONYM and (len(value) > MAX_WORD or value == word):
        return ctx.reply("keywords.bad_word", word=value, max=MAX_WORD)
    await _change(ctx, word, kind, value)
    return ctx.reply(f"keywords.added_{kind.value}", word=word, value=value)


async def _category(ctx: Context, word: str, name: str) -> Reply:
    """The same as 分类词 <类别> 加 <词>: one mechanism."""
    category = ctx.understanding.categories.get(name)
    if category is None or name == OTHER:
        names = "、".join(c for c in ctx.understanding.categories if c != OTHER)
        return ctx.reply("keywords.no_category", category=name, names=names)
    assert ctx.person is not None
    ctx.store.reports.change_category_word(
        CategoryWord(category=name, word=word, person_id=ctx.person.id, at=ctx.clock.now())
    )
    await ctx.store.session.flush()
    await ctx.understanding.refresh(ctx.store, force=True)
    return ctx.reply("keywords.added_category", word=word, value=name)


async def _remove(ctx: Context, word: str) -> Reply:
    kinds = ctx.understanding.taught.kinds_of(word)
    categories = [c.name for c in ctx.understanding.categories.values() if word in c.added]
    if not kinds and not categories:
        return ctx.reply("keywords.missing", word=word)
    assert ctx.person is not None
    now = ctx.clock.now()
    for name in categories:
        ctx.store.reports.change_category_word(
            CategoryWord(category=name, word=word, removed=True, person_id=ctx.person.id, at=now)
        )
    for kind in kinds:
        ctx.store.policy.change_keyword(
            KeywordChange(
                word=word, kind=KeywordKind(kind), removed=True, person_id=ctx.person.id, at=now
            )
        )
    await ctx.store.session.flush()
    await ctx.understanding.refresh(ctx.store, force=True)
    return ctx.reply("keywords.removed", word=word)


async def _change(ctx: Context, word: str, kind: KeywordKind, value: str) -> None:
    assert ctx.person is not None
    ctx.store.policy.change_keyword(
        KeywordChange(
            word=word,
            kind=kind,
            value=value,
            person_id=ctx.person.id,
            at=ctx.clock.now(),
        )
    )
    await ctx.store.session.flush()
    await ctx.understanding.refresh(ctx.store, force=True)  # this instance at once


def _listing(ctx: Context) -> Reply:
    taught = ctx.understanding.taught
    lines = [ctx.t("keywords.title")]
    for key, table in (
        ("keywords.line_reply", taught.replies),
        ("keywords.line_command", taught.commands),
        ("keywords.line_synonym", taught.synonyms),
    ):
        lines += [ctx.t(key, word=w, value=v[:30]) for w, v in sorted(table.items())]
    for category in ctx.understanding.categories.values():
        lines += [
            ctx.t("keywords.line_category", word=w, value=category.name) for w in category.added
        ]
    if len(lines) == 1:
        lines.append(ctx.t("keywords.none"))
    lines.append(ctx.t("keywords.usage"))
    return Reply.of_text("\n".join(lines))


# --- the words at work -----------------------------------------------------------------------


class CommandName:
    """The message starts with an admin's other name for a command (查分)."""

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        return _named(msg, ctx) is not None


def _named(msg: InboundMessage, ctx: Context) -> tuple[str, str] | None:
    text = msg.text.strip().lstrip("/#＃ ")
    for word, command in ctx.understanding.taught.commands.items():
        if text == word or text.startswith(word + " "):
            return command, text[len(word) :].strip()
    return None


class AutoReply:
    """The message is an auto-reply's word alone, or a question to the bot that holds one
    (never a report, never an SOS)."""

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        return _reply_for(msg, ctx) is not None


def _reply_for(msg: InboundMessage, ctx: Context) -> str | None:
    replies = ctx.understanding.taught.replies
    if not replies:
        return None
    said = _alone(msg.text)
    if said in replies:
        return replies[said]
    reading = ctx.understanding.read(msg.text)
    if reading.is_report or reading.ask or reading.alarm:
        return None
    if reading.intent not in (Intent.QUESTION, Intent.POLICY, Intent.CHAT):
        return None
    found = [w for w in replies if w in said]
    return replies[max(found, key=len)] if found else None


@router.message(KindIs(Kind.TEXT, Kind.VOICE), CommandName())
async def command_name(msg: InboundMessage, ctx: Context) -> Reply | None:
    """查分 as 我的积分: the command answers, with its own roles."""
    named = _named(msg, ctx)
    assert named is not None
    command, rest = named
    root = ctx.menu
    resolve = getattr(root, "resolve", None)
    if resolve is None:
        return None
    as_command = msg.model_copy(update={"text": f"{command} {rest}".strip()})
    match = resolve(as_command, ctx)
    if match is None or match.spec.func is command_name:
        return ctx.reply("keywords.command_gone", word=msg.text.strip())
    if not match.permitted:
        return ctx.reply("keywords.command_not_yours")
    result = await match.spec.func(as_command, replace(ctx, args=match.args))
    if result is None or isinstance(result, Reply):
        return result
    return Reply.of_text("\n\n".join(r.text for r in result))


@router.message(KindIs(Kind.TEXT, Kind.VOICE), AutoReply())
async def auto_reply(msg: InboundMessage, ctx: Context) -> Reply:
    answer = _reply_for(msg, ctx)
    assert answer is not None
    return Reply.of_text(answer)
