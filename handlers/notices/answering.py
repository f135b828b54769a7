"""Answering a notice or task: 已学习 N, 完成 N with words or a photo, and a township's
分派 N, which hands its share of a county task to its villages."""

from __future__ import annotations

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import Command, InState, Router
from handlers.notices import AWAITING_EVIDENCE, answering_units
from handlers.notices.desk import Desk, answered
from handlers.reports.lifecycle import keep_photo, number_and_rest
from storage.models import CADRE_ROLES, Level, Notice, NoticeKind, NoticeTarget

router = Router(name="notices.answering")


# --- answering: 已学习, 完成, 分派 ------------------------------------------------------------


@router.message(
    Command("已学习", "已阅", "收到", "acknowledge"),
    roles=CADRE_ROLES,
    menu="menu.notice_ack",
    menu_order=52,
)
async def acknowledge(msg: InboundMessage, ctx: Context) -> Reply:
    """已学习 N; without a number, the one notice the sender's units still owe."""
    found = await _owed(ctx, NoticeKind.NOTICE, "notice.cmd.ack", number_and_rest(ctx.args)[0])
    if isinstance(found, Reply):
        return found
    notice, target = found
    assert ctx.person is not None
    await answered(
        Desk.of(ctx), notice, target, ctx.clock.now(), by=ctx.person.id, evidence="", photo=""
    )
    unit = await ctx.store.org.get(target.unit_id)
    return ctx.reply(
        "notice.acked", number=notice.id, title=notice.title, unit=unit.name if unit else ""
    )


@router.message(Command("完成", "done"), roles=CADRE_ROLES, menu="menu.task_done", menu_order=53)
async def complete(msg: InboundMessage, ctx: Context) -> Reply:
    """完成 N 情况 (words), or 完成 N and then a photo or the words."""
    number, note = number_and_rest(ctx.args)
    found = await _owed(ctx, NoticeKind.TASK, "notice.cmd.done", number)
    if isinstance(found, Reply):
        return found
    notice, target = found
    if not note:
        ctx.conversation.set(AWAITING_EVIDENCE, notice=notice.id)
        return ctx.reply("notice.done_needs_evidence", number=notice.id)
    return await _completed(ctx, notice, target, note, "")


@router.message(InState(AWAITING_EVIDENCE), roles=CADRE_ROLES)
async def evidence(msg: InboundMessage, ctx: Context) -> Reply:
    """The photo or the words a 完成 was waiting for."""
    assert ctx.state is not None
    photo = ""
    if msg.kind is Kind.IMAGE:
        name = await keep_photo(msg, ctx)
        if isinstance(name, Reply):
            return name  # the state stays: another photo may come
        photo = name
    elif not msg.text.strip():
        return ctx.reply("notice.done_needs_evidence", number=ctx.state.data["notice"])
    ctx.conversation.end()
    found = await _owed(ctx, NoticeKind.TASK, "notice.cmd.done", int(ctx.state.data["notice"]))
    if isinstance(found, Reply):
        return found
    return await _completed(ctx, *found, msg.text.strip(), photo)


async def _completed(
    ctx: Context, notice: Notice, target: NoticeTarget, note: str, photo: str
) -> Reply:
    assert ctx.person is not None
    await answered(
        Desk.of(ctx), notice, target, ctx.clock.now(), by=ctx.person.id, evidence=note, photo=photo
    )
    return ctx.reply("notice.done", number=notice.id, title=notice.title)


async def _owed(
    ctx: Context, kind: NoticeKind, command: str, number: int | None
) -> tuple[Notice, NoticeTarget] | Reply:
    """The notice (or task) named in the command and the sender's unit's row of it, locked;
    without a number, the only one the sender's units owe. Else the answer why not."""
    units = await answering_units(ctx)
    if number is None:
        owed = [(n, t) for n, t in await ctx.store.notices.pending(units) if n.kind is kind]
        if len(owed) != 1:
            numbers = "、".join(str(n.id) for n, _ in owed)
            key = "notice.which" if owed else "notice.nothing_owed"
            first = owed[0][0].id if owed else 0
            return ctx.reply(key, command=ctx.t(command), numbers=numbers, first=first)
        number = owed[0][0].id
    notice = await ctx.store.notices.get(number)
    if notice is None or notice.published_at is None:
        return ctx.reply("notice.no_such", number=number)
    if notice.kind is not kind:
        return ctx.reply(f"notice.wrong_command.{notice.kind}", number=notice.id)
    target = await ctx.store.notices.target(notice.id, units, lock=True)
    if target is None:
        return ctx.reply("notice.not_yours", number=notice.id)
    if target.done_at is not None:
        return ctx.reply(
            f"notice.already.{notice.kind}", number=notice.id, time=Desk.of(ctx).at(target.done_at)
        )
    return notice, target


@router.message(Command("分派", "split"), roles=CADRE_ROLES, menu="menu.task_split", menu_order=54)
async def split(msg: InboundMessage, ctx: Context) -> Reply:
    """分派 N (all the township's villages) or 分派 N 柳树村 杨庄村: a township hands its
    share of a county task to villages, each of which then answers for itself."""
    number, rest = number_and_rest(ctx.args)
    if number is None:
        return ctx.reply("notice.split_usage")
    found = await _owed(ctx, NoticeKind.TASK, "notice.cmd.split", number)
    if isinstance(found, Reply):
        return found
    notice, target = found
    township = await ctx.store.org.get(target.unit_id)
    assert township is not None
    if township.level is not Level.TOWNSHIP:
        return ctx.reply("notice.split_not_township")
    villages = [u for u in await ctx.store.org.below(township.id) if u.level is Level.VILLAGE]
    names = [n for n in rest.replace("，", " ").replace("、", " ").replace(",", " ").split() if n]
    if names:
        unknown = [n for n in names if n not in {v.name for v in villages}]
        if unknown:
            return ctx.reply(
                "notice.split_unknown",
                names="、".join(unknown),
                villages="、".join(v.name for v in villages) or "—",
            )
        villages = [v for v in villages if v.name in names]
    have = {t.unit_id for t in await ctx.store.notices.split(target.id)}
    villages = [v for v in villages if v.id not in have]
    if not villages:
        return ctx.reply("notice.split_nothing", number=notice.id)
    desk = Desk.of(ctx)
    values = desk.values(notice, township.name)
    ctx.store.notices.add_targets(
        [
            NoticeTarget(
                notice_id=notice.id,
                unit_id=v.id,
                via_id=target.id,
                due_at=target.due_at,
                chase_at=target.due_at,
            )
            for v in villages
        ]
    )
    await desk.tell.broadcast(
        [v.id for v in villages], "notice.push_task", purpose="notice", **values
    )
    # the villages are chased from now on; the township answers when they all have
    target.split_at, target.chase_at = ctx.clock.now(), None
    return ctx.reply(
        "notice.split_done",
        number=notice.id,
        count=len(villages),
        names="、".join(v.name for v in villages),
    )
