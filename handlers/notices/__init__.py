"""通知 and 督办 in the cadre groups: 发布通知 / 发布任务 (guided: title, body, photo,
acknowledgement, deadline, when), 已学习 N, 完成 N 情况 (or a photo), 分派 N (a township
hands a task to its villages), and 通知 N: the notice, and for its sender who has answered.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import CANCEL_WORDS, Command, InState, Router
from handlers.notices.desk import Desk, publish, receivers
from handlers.notices.when import parse_when
from handlers.reports.lifecycle import keep_photo, number_and_rest
from storage.models import CADRE_ROLES, Level, Notice, NoticeKind, OrgUnit

router = Router(name="notices")

DRAFT = "notices.draft"  # 发布通知 / 发布任务 under way
AWAITING_EVIDENCE = "notices.await_evidence"  # 完成 N came without words: a photo or words next
SKIP_WORDS = ("跳过", "没有", "不用", "无", "skip", "no")
YES_WORDS = ("是", "要", "需要", "对", "yes", "y")
NO_WORDS = ("否", "不", "不要", "不需要", "不用", "no", "n")
NOW_WORDS = ("现在", "马上", "立即", "立刻", "now")
CONFIRM_WORDS = ("确认", "确定", "发布", "好", "confirm", "ok")
DUE_DEFAULT = time(18, 0)  # a deadline given as a day: the end of that working day
PUBLISH_DEFAULT = time(9, 0)  # a publishing time given as a day: the start of it
MAX_TITLE, MAX_BODY = 100, 2000
_RANK = {Level.COUNTY: 0, Level.TOWNSHIP: 1, Level.VILLAGE: 2, Level.GRID: 3}


def _units(ctx: Context) -> list[int]:
    """The units the sender holds a cadre post at."""
    return list(dict.fromkeys(a.org_unit_id for a in ctx.assignments if a.role in CADRE_ROLES))


async def answering_units(ctx: Context) -> list[int]:
    """The units the sender answers for: their posts, and a grid worker's village."""
    units = _units(ctx)
    for unit_id in list(units):
        unit = await ctx.store.org.get(unit_id)
        if unit is not None and unit.level is Level.GRID and unit.parent_id is not None:
            units.append(unit.parent_id)
    return units


async def _publisher(ctx: Context) -> int | None:
    """Whose name a notice goes out under: the group's unit if the sender serves it, else
    the sender's highest post; never a grid."""
    units = _units(ctx)
    if ctx.unit is not None and ctx.unit.id in units and ctx.unit.level is not Level.GRID:
        return ctx.unit.id
    posts = [u for u in [await ctx.store.org.get(i) for i in units] if u is not None]
    posts = sorted((u for u in posts if u.level is not Level.GRID), key=lambda u: _RANK[u.level])
    return posts[0].id if posts else None


# --- 发布通知 / 发布任务, guided -------------------------------------------------------------


@router.message(
    Command("发布通知", "publish notice"),
    roles=CADRE_ROLES,
    menu="menu.notice_publish",
    menu_order=50,
)
async def start_notice(msg: InboundMessage, ctx: Context) -> Reply:
    return await _start(ctx, NoticeKind.NOTICE)


@router.message(
    Command("发布任务", "发布督办", "publish task"),
    roles=CADRE_ROLES,
    menu="menu.task_publish",
    menu_order=51,
)
async def start_task(msg: InboundMessage, ctx: Context) -> Reply:
    return await _start(ctx, NoticeKind.TASK)


async def _start(ctx: Context, kind: NoticeKind) -> Reply:
    unit_id = await _publisher(ctx)
    if unit_id is None:
        return ctx.reply("notice.publish_not_allowed")
    unit = await ctx.store.org.get(unit_id)
    assert unit is not None
    if kind is NoticeKind.TASK and unit.level is Level.VILLAGE:
        return ctx.reply("notice.task_not_from_village")
    ctx.conversation.set(DRAFT, verbatim=True, kind=kind.value, unit=unit_id, step="title")
    return ctx.reply("notice.guide.title", what=ctx.t(f"notice.kind.{kind}"), unit=unit.name)


@router.message(Command(*CANCEL_WORDS), InState(DRAFT))
@router.message(Command(*CANCEL_WORDS), InState(AWAITING_EVIDENCE))
async def cancel(msg: InboundMessage, ctx: Context) -> Reply:
    ctx.conversation.end()
    return ctx.reply("notice.guide.cancelled")


@router.message(InState(DRAFT), roles=CADRE_ROLES)
async def draft_step(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.state is not None
    data: dict[str, Any] = dict(ctx.state.data)
    step = str(data["step"])
    task = data["kind"] == NoticeKind.TASK
    if msg.kind is Kind.IMAGE and step == "photo":
        name = await keep_photo(msg, ctx)
        if isinstance(name, Reply):
            return name
        data["photo"] = name
        return _next(ctx, data, "due" if task else "ack")
    text = msg.text.strip()
    if msg.kind not in (Kind.TEXT, Kind.VOICE) or not text:
        return _ask(ctx, data, step)
    skipped = text.lower() in SKIP_WORDS
    now, desk = ctx.clock.now(), Desk.of(ctx)
    if step == "title":
        if len(text) > MAX_TITLE:
            return ctx.reply("notice.guide.too_long", limit=MAX_TITLE)
        data["title"] = text
        return _next(ctx, data, "body")
    if step == "body":
        if len(text) > MAX_BODY:
            return ctx.reply("notice.guide.too_long", limit=MAX_BODY)
        data["body"] = text
        return _next(ctx, data, "photo")
    if step == "photo":
        if not skipped:
            return _ask(ctx, data, step)
        return _next(ctx, data, "due" if task else "ack")
    if step == "ack":
        if text.lower() not in YES_WORDS + NO_WORDS:
            return _ask(ctx, data, step)
        data["ack"] = text.lower() in YES_WORDS
        return _next(ctx, data, "due")
    if step == "due":
        if skipped and not task:
            data["due"] = None
            return _next(ctx, data, "when")
        due = parse_when(text, now, desk.zone, DUE_DEFAULT)
        if due is None:
            return ctx.reply("notice.guide.due_bad", text=text)
        if due <= now:
            return ctx.reply("notice.guide.past", time=desk.at(due))
        data["due"] = due.isoformat()
        return _next(ctx, data, "when")
    if step == "when":
        at = (
            now if text.lower() in NOW_WORDS else parse_when(text, now, desk.zone, PUBLISH_DEFAULT)
        )
        if at is None:
            return ctx.reply("notice.guide.when_bad", text=text)
        if at < now:
            return ctx.reply("notice.guide.past", time=desk.at(at))
        if data.get("due") and at >= _due(data, now):
            return ctx.reply("notice.guide.when_after_due")
        data["at"] = at.isoformat()
        return await _summary(ctx, data)
    if text.lower() not in CONFIRM_WORDS:
        return await _summary(ctx, data)
    ctx.conversation.end()
    return await _publish(ctx, data)


def _due(data: dict[str, Any], now: datetime) -> datetime:
    return datetime.fromisoformat(data["due"]) if data.get("due") else now


def _next(ctx: Context, data: dict[str, Any], step: str) -> Reply:
    data["step"] = step
    # a title or a text may start with any word (通知…, 完成…): it is the content
    ctx.conversation.set(DRAFT, verbatim=step in ("title", "body"), **data)
    return _ask(ctx, data, step)


def _ask(ctx: Context, data: dict[str, Any], step: str) -> Reply:
    return ctx.reply(f"notice.guide.{step}", what=ctx.t(f"notice.kind.{data['kind']}"))


async def _summary(ctx: Context, data: dict[str, Any]) -> Reply:
    data["step"] = "confirm"
    ctx.conversation.set(DRAFT, **data)
    desk = Desk.of(ctx)
    unit = await ctx.store.org.get(int(data["unit"]))
    kind = NoticeKind(data["kind"])
    count = len(await _receivers_of(ctx, int(data["unit"]), kind))
    at = datetime.fromisoformat(data["at"])
    return ctx.reply(
        "notice.guide.summary",
        what=ctx.t(f"notice.kind.{kind}"),
        unit=unit.name if unit else "",
        title=data["title"],
        body=data["body"],
        photo=ctx.t("notice.yes") if data.get("photo") else ctx.t("notice.no"),
        ack=ctx.t("notice.yes")
        if data.get("ack") or kind is NoticeKind.TASK
        else ctx.t("notice.no"),
        due=desk.at(datetime.fromisoformat(data["due"]))
        if data.get("due")
        else ctx.t("notice.no_due"),
        when=ctx.t("notice.now") if at <= ctx.clock.now() else desk.at(at),
        count=count,
    )


async def _receivers_of(ctx: Context, unit_id: int, kind: NoticeKind) -> list[OrgUnit]:
    unit = await ctx.store.org.get(unit_id)
    assert unit is not None
    if unit.level is Level.VILLAGE:
        return [unit]
    return await receivers(ctx.store, unit, kind)


async def _publish(ctx: Context, data: dict[str, Any]) -> Reply:
    assert ctx.person is not None
    now = ctx.clock.now()
    at = max(datetime.fromisoformat(data["at"]), now)
    kind = NoticeKind(data["kind"])
    unit = await ctx.store.org.get(int(data["unit"]))
    assert unit is not None
    notice = await ctx.store.notices.add(
        Notice(
            kind=kind,
            unit_id=unit.id,
            author_id=ctx.person.id,
            title=str(data["title"]),
            body=str(data["body"]),
            photo=str(data.get("photo") or ""),
            ack_required=kind is NoticeKind.NOTICE
            and bool(data.get("ack"))
            and unit.level is not Level.VILLAGE,
            due_at=datetime.fromisoformat(data["due"]) if data.get("due") else None,
            publish_at=at,
            published_at=None,
            created_at=now,
        )
    )
    what = ctx.t(f"notice.kind.{kind}")
    desk = Desk.of(ctx)
    if at > now:
        return ctx.reply("notice.scheduled", what=what, number=notice.id, time=desk.at(at))
    groups = await publish(desk, notice, now)
    return ctx.reply("notice.published", what=what, number=notice.id, groups=groups)


@router.message(
    Command("撤回", "withdraw"), roles=CADRE_ROLES, menu="menu.notice_withdraw", menu_order=56
)
async def withdraw(msg: InboundMessage, ctx: Context) -> Reply:
    """撤回 N: a notice or task set for later, taken back before it goes out (by its author
    or a cadre of the unit it is from). One already sent stays: people have read it."""
    number, _ = number_and_rest(ctx.args)
    if number is None:
        return ctx.reply("notice.withdraw_usage")
    notice = await ctx.store.notices.get(number, lock=True)
    assert ctx.person is not None
    if notice is None or (
        notice.published_at is None
        and notice.author_id != ctx.person.id
        and notice.unit_id not in _units(ctx)
    ):
        return ctx.reply("notice.no_such", number=number)
    if notice.published_at is not None:
        return ctx.reply("notice.withdraw_sent", number=notice.id)
    await ctx.store.notices.remove(notice)
    return ctx.reply("notice.withdrawn", number=notice.id, title=notice.title)
