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
from handlers.notices.desk import Desk, answered, publish, receivers, tracked
from handlers.notices.when import parse_when
from handlers.reports.lifecycle import keep_photo, number_and_rest
from storage.models import CADRE_ROLES, Level, Notice, NoticeKind, NoticeTarget, OrgUnit, Role

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
VILLAGER_LATEST = 5  # notices a villager's 通知 lists
MAX_NAMES = 30  # units named in a progress line before "等N个"
_RANK = {Level.COUNTY: 0, Level.TOWNSHIP: 1, Level.VILLAGE: 2, Level.GRID: 3}


def _units(ctx: Context) -> list[int]:
    """The units the sender holds a cadre post at."""
    return list(dict.fromkeys(a.org_unit_id for a in ctx.assignments if a.role in CADRE_ROLES))


async def _answering_units(ctx: Context) -> list[int]:
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
    units = await _answering_units(ctx)
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


# --- 通知 N: the notice, and for its sender, who has answered -----------------------------


@router.message(
    Command("通知", "督办", "notice"), roles=CADRE_ROLES, menu="menu.notice_view", menu_order=55
)
async def view(msg: InboundMessage, ctx: Context) -> Reply:
    """通知 N (or 通知 N 进度); without a number, what the sender's units owe and the latest."""
    number, _ = number_and_rest(ctx.args)
    units = await _answering_units(ctx)
    if number is None:
        return await _listing(ctx, units)
    notice = await ctx.store.notices.get(number)
    if notice is None or (
        notice.published_at is None and notice.author_id != (ctx.person.id if ctx.person else 0)
    ):
        return ctx.reply("notice.no_such", number=number)
    desk = Desk.of(ctx)
    publisher = await ctx.store.org.get(notice.unit_id)
    locale = ctx.person.locale if ctx.person else None
    values = desk.values(notice, publisher.name if publisher else "")
    lines = [desk.tell.text(locale, "notice.view", **values)]
    if notice.published_at is None:
        lines.append(ctx.t("notice.view_scheduled", time=desk.at(notice.publish_at)))
    elif tracked(notice) and await _oversees(ctx, notice, units):
        lines += await _progress(ctx, notice)
    else:
        mine = await ctx.store.notices.target(notice.id, units)
        to_all_below = notice.kind is NoticeKind.NOTICE and notice.unit_id in await _above(
            ctx, units
        )
        if mine is None and notice.unit_id not in units and not to_all_below:
            return ctx.reply("notice.not_yours", number=notice.id)
        if mine is not None:
            lines.append(
                ctx.t(f"notice.mine_done.{notice.kind}", time=desk.at(mine.done_at))
                if mine.done_at
                else ctx.t(f"notice.mine_owed.{notice.kind}", number=notice.id)
            )
    return Reply.of_text("\n".join(lines))


async def _above(ctx: Context, units: list[int]) -> set[int]:
    """The units above these (whose notices reach everyone below)."""
    return {u.id for unit_id in units for u in (await ctx.store.org.lineage(unit_id))[1:]}


async def _oversees(ctx: Context, notice: Notice, units: list[int]) -> bool:
    """The sender's unit sent it, or sits above the one that did."""
    return any(u.id in units for u in await ctx.store.org.lineage(notice.unit_id))


async def _progress(ctx: Context, notice: Notice) -> list[str]:
    rows = await ctx.store.notices.targets(notice.id)
    names = {u.id: u.name for u in await ctx.store.org.below(notice.unit_id)}
    direct = [t for t in rows if t.via_id is None]
    done = [t for t in direct if t.done_at is not None]
    waiting = [t for t in direct if t.done_at is None]

    def named(targets: list[NoticeTarget]) -> str:
        shown = [
            names.get(t.unit_id, "?") + _split_note(ctx, t, rows) for t in targets[:MAX_NAMES]
        ]
        more = len(targets) - MAX_NAMES
        return "、".join(shown) + (ctx.t("notice.and_more", count=more) if more > 0 else "") or "—"

    return [
        ctx.t(f"notice.progress.{notice.kind}", done=len(done), total=len(direct)),
        ctx.t(f"notice.progress_done.{notice.kind}", names=named(done)),
        ctx.t(f"notice.progress_waiting.{notice.kind}", names=named(waiting)),
    ]


def _split_note(ctx: Context, target: NoticeTarget, rows: Any) -> str:
    if target.split_at is None or target.done_at is not None:
        return ""
    shares = [t for t in rows if t.via_id == target.id]
    done = sum(1 for t in shares if t.done_at is not None)
    return ctx.t("notice.split_note", done=done, total=len(shares))


# --- villagers: what the village was told --------------------------------------------------


@router.message(
    Command("通知", "notice"), roles={Role.VILLAGER}, menu="menu.notice_villager", menu_order=34
)
async def villager_view(msg: InboundMessage, ctx: Context) -> Reply:
    """通知: the latest notices to the villager's village (from it, its township, its
    county); 通知 N: one of them in full."""
    assert ctx.person is not None
    if ctx.person.village_id is None:
        return ctx.reply("notice.villager_no_village")
    senders = [u.id for u in await ctx.store.org.lineage(ctx.person.village_id)]
    number, _ = number_and_rest(ctx.args)
    desk = Desk.of(ctx)
    if number is not None:
        notice = await ctx.store.notices.get(number)
        if (
            notice is None
            or notice.kind is not NoticeKind.NOTICE
            or notice.published_at is None
            or notice.unit_id not in senders
        ):
            return ctx.reply("notice.no_such", number=number)
        publisher = await ctx.store.org.get(notice.unit_id)
        values = desk.values(notice, publisher.name if publisher else "")
        return Reply.of_text(desk.tell.text(ctx.person.locale, "notice.push", **values))
    notices = await ctx.store.notices.published_by(senders, VILLAGER_LATEST)
    if not notices:
        return ctx.reply("notice.villager_none")
    lines = [ctx.t("notice.villager_title")]
    for n in notices:
        assert n.published_at is not None
        lines.append(
            ctx.t("notice.villager_line", number=n.id, title=n.title, time=desk.at(n.published_at))
        )
    lines.append(ctx.t("notice.villager_hint"))
    return Reply.of_text("\n".join(lines))


async def _listing(ctx: Context, units: list[int]) -> Reply:
    owed = await ctx.store.notices.pending(units)
    recent = await ctx.store.notices.recent(units, await _above(ctx, units))
    if not owed and not recent:
        return ctx.reply("notice.none")
    desk = Desk.of(ctx)
    lines = []
    if owed:
        lines.append(ctx.t("notice.owed_title", count=len(owed)))
        for n, t in owed:
            due = desk.at(t.due_at) if t.due_at else ctx.t("notice.no_due")
            lines.append(ctx.t(f"notice.owed_line.{n.kind}", number=n.id, title=n.title, due=due))
    if recent:
        lines.append(ctx.t("notice.recent_title"))
        for n in recent:
            assert n.published_at is not None
            lines.append(
                ctx.t(
                    "notice.recent_line",
                    number=n.id,
                    title=n.title,
                    time=desk.at(n.published_at),
                    what=ctx.t(f"notice.kind.{n.kind}"),
                )
            )
    lines.append(ctx.t("notice.view_hint"))
    return Reply.of_text("\n".join(lines))
