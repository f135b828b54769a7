"""发布公开, guided: the kind, the title, the words and/or photos of the signed table, the
period, then a summary to 确认. On 确认 the disclosure is saved and the village's residents'
groups told, in the same transaction; 取消 at any step leaves nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import CANCEL_WORDS, Command, InState, Router
from handlers.disclosure.period import Period, parse_period
from handlers.points.reviewing import REVIEWERS
from handlers.reports.lifecycle import keep_photo, local_time
from handlers.tell import Tell, Term
from storage.models import ChatPurpose, Disclosure, DisclosureKind, Level

router = Router(name="disclosure.publishing")

DRAFT = "disclosure.draft"  # 发布公开 under way
PUBLISHERS = REVIEWERS  # a village's secretary and cadres
KIND_WORDS = {
    DisclosureKind.PARTY: ("1", "党务", "党务公开", "party"),
    DisclosureKind.VILLAGE: ("2", "村务", "村务公开", "village"),
    DisclosureKind.FINANCE: ("3", "财务", "财务公开", "finance"),
}
DONE_WORDS = ("好了", "完成", "发完了", "就这些", "done")
CONFIRM_WORDS = ("确认", "确定", "发布", "好", "好了", "confirm", "ok", "yes")
MAX_TITLE, MAX_BODY, MAX_PHOTOS = 100, 2000, 9
_STEP_WORDS = tuple(dict.fromkeys(w for ws in KIND_WORDS.values() for w in ws if len(w) > 1))


def kind_of(text: str) -> DisclosureKind | None:
    """1, 财务, 财务公开, "3 财务", "3." …: the kind, or None."""
    first = text.strip().lower().split()
    said = first[0].rstrip(".。、") if first else ""
    return next((k for k, words in KIND_WORDS.items() if said in words), None)


def kind_key(kind: DisclosureKind | str) -> str:
    return f"disclosure.kind.{kind}"


def publishing_village(ctx: Context) -> int | None:
    """The village a cadre publishes for: the group's, if they serve it; else their first."""
    own = sorted({a.org_unit_id for a in ctx.assignments if a.role in PUBLISHERS})
    if ctx.unit is not None and ctx.unit.id in own:
        return ctx.unit.id
    return own[0] if own else None


@router.message(
    Command("发布公开", "发布三务公开", "publish disclosure"),
    roles=PUBLISHERS,
    menu="menu.disclosure_publish",
    menu_order=58,
)
async def start(msg: InboundMessage, ctx: Context) -> Reply:
    """发布公开, or 发布公开 财务 to say the kind at once."""
    village_id = publishing_village(ctx)
    village = await ctx.store.org.get(village_id) if village_id is not None else None
    if village is None or village.level is not Level.VILLAGE:
        return ctx.reply("disclosure.publish_no_village")
    data: dict[str, Any] = {"village": village.id, "village_name": village.name}
    kind = kind_of(ctx.args)
    if kind is None:
        ctx.conversation.set(DRAFT, step="kind", **data)
        return ctx.reply("disclosure.guide.kind", village=village.name)
    data["kind"] = kind.value
    return _next(ctx, data, "title")


@router.message(Command(*CANCEL_WORDS), InState(DRAFT))
async def cancel(msg: InboundMessage, ctx: Context) -> Reply:
    ctx.conversation.end()
    return ctx.reply("disclosure.guide.cancelled")


# A step's own words come before every command: 完成 is a task's 完成 N elsewhere, 财务公开
# a villager's list; in the flow they are the answer to the step.
@router.message(Command(*DONE_WORDS, *_STEP_WORDS), InState(DRAFT), roles=PUBLISHERS)
@router.message(InState(DRAFT), roles=PUBLISHERS)
async def step(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.state is not None
    data: dict[str, Any] = dict(ctx.state.data)
    current = str(data["step"])
    if msg.kind is Kind.IMAGE:
        return await _photo(msg, ctx, data) if current == "content" else _ask(ctx, data, current)
    text = msg.text.strip()
    if msg.kind not in (Kind.TEXT, Kind.VOICE) or not text:
        return _ask(ctx, data, current)
    if current == "kind":
        kind = kind_of(text)
        if kind is None:
            return ctx.reply("disclosure.guide.kind_again")
        data["kind"] = kind.value
        return _next(ctx, data, "title")
    if current == "title":
        if len(text) > MAX_TITLE:
            return ctx.reply("disclosure.guide.too_long", limit=MAX_TITLE)
        data["title"] = text
        return _next(ctx, data, "content")
    if current == "content":
        return _content(ctx, data, text)
    if current == "period":
        return _period(ctx, data, text)
    if text.lower() not in CONFIRM_WORDS:
        return _summary(ctx, data)
    ctx.conversation.end()
    return await _publish(ctx, data)


def _content(ctx: Context, data: dict[str, Any], text: str) -> Reply:
    """Words are the disclosure's text (several messages join up); 好了 ends the step."""
    if text.lower() in DONE_WORDS:
        if not data.get("body") and not data.get("photos"):
            return ctx.reply("disclosure.guide.content_empty")
        return _next(ctx, data, "period")
    body = "\n".join(filter(None, [str(data.get("body", "")), text]))
    if len(body) > MAX_BODY:
        return ctx.reply("disclosure.guide.too_long", limit=MAX_BODY)
    data["body"] = body
    ctx.conversation.set(DRAFT, verbatim=True, **data)
    return ctx.reply("disclosure.guide.text_received")


async def _photo(msg: InboundMessage, ctx: Context, data: dict[str, Any]) -> Reply:
    photos = list(data.get("photos", []))
    if len(photos) >= MAX_PHOTOS:
        return ctx.reply("disclosure.guide.too_many_photos", limit=MAX_PHOTOS)
    name = await keep_photo(msg, ctx)
    if isinstance(name, Reply):
        return name  # the step stays: the photo may be sent again
    data["photos"] = [*photos, name]
    ctx.conversation.set(DRAFT, verbatim=True, **data)
    return ctx.reply("disclosure.guide.photo_received", count=len(data["photos"]))


def _period(ctx: Context, data: dict[str, Any], text: str) -> Reply:
    today = local_time(ctx, ctx.clock.now()).date()
    period = parse_period(text, today)
    if period is None:
        return ctx.reply("disclosure.guide.period_bad", text=text)
    if period.start > today:
        return ctx.reply("disclosure.guide.period_future", period=period.shown(ctx.t))
    data["period_start"], data["period_months"] = period.start.isoformat(), period.months
    return _summary(ctx, data)


def _summary(ctx: Context, data: dict[str, Any]) -> Reply:
    data["step"] = "confirm"
    ctx.conversation.set(DRAFT, **data)
    return ctx.reply(
        "disclosure.guide.summary",
        kind=ctx.t(kind_key(data["kind"])),
        title=data["title"],
        body=data.get("body") or ctx.t("disclosure.no_text"),
        photos=len(data.get("photos", [])),
        period=_period_of(data).shown(ctx.t),
        village=data["village_name"],
    )


def _period_of(data: dict[str, Any]) -> Period:
    return Period(date.fromisoformat(data["period_start"]), int(data["period_months"]))


def _next(ctx: Context, data: dict[str, Any], step: str) -> Reply:
    data["step"] = step
    # a title or the text may start with any word (通知…, 完成…): it is the content
    ctx.conversation.set(DRAFT, verbatim=step in ("title", "content"), **data)
    return _ask(ctx, data, step)


def _ask(ctx: Context, data: dict[str, Any], step: str) -> Reply:
    if step == "confirm":
        return _summary(ctx, data)
    if step == "kind":
        return ctx.reply("disclosure.guide.kind_again")
    kind = ctx.t(kind_key(data["kind"])) if data.get("kind") else ""
    return ctx.reply(f"disclosure.guide.{step}", kind=kind, limit=MAX_TITLE)


async def _publish(ctx: Context, data: dict[str, Any]) -> Reply:
    assert ctx.person is not None
    period = _period_of(data)
    kind = DisclosureKind(data["kind"])
    disclosure = await ctx.store.disclosures.add(
        Disclosure(
            village_id=int(data["village"]),
            kind=kind,
            title=str(data["title"]),
            body=str(data.get("body", "")),
            photos=list(data.get("photos", [])),
            period=period.shown(lambda key, **v: ctx.t_for(None, key, **v))[:20],
            period_start=period.start,
            period_months=period.months,
            author_id=ctx.person.id,
            published_at=ctx.clock.now(),
        )
    )
    groups = await Tell.of(ctx).groups(
        disclosure.village_id,
        "disclosure.announce",
        purpose="disclosure",
        chats=(ChatPurpose.RESIDENTS,),
        number=disclosure.id,
        kind=Term(kind_key(kind)),
        title=disclosure.title,
        period=disclosure.period,
    )
    key = "disclosure.published" if groups else "disclosure.published_no_group"
    return ctx.reply(key, number=disclosure.id, kind=ctx.t(kind_key(kind)), groups=groups)
