"""随手拍: a villager reports a problem in whatever way they send it (words; a photo, then
words, then perhaps a location pin; a photo with its caption; a voice message's text; or
随手拍 to be guided step by step); it is classified, linked to an open report of the same
problem or routed to the cadre who handles it, and announced in the cadre group. Following it
afterwards (我的上报, 查进度 N, 满意 N) is handlers/reports/following.py."""

from __future__ import annotations

from typing import Any

from bot.context import Context
from bot.message import InboundMessage, Kind, Location, Reply
from bot.router import CANCEL_WORDS, Command, InState, KindIs, Router
from handlers.reports import asking
from handlers.reports.lifecycle import AWAITING_WORDS, keep_photo
from handlers.reports.making import AWAITING_PLACE, anonymous_words, locate, located, submit
from storage.models import CADRE_ROLES, Role

router = Router(name="reports")

GUIDED = "reports.guided"  # 随手拍 step by step: photo -> what -> where
SKIP_WORDS = ("跳过", "没有", "不用", "skip")
MAX_PHOTOS = 9
QUESTION_ENDINGS = ("?", "？", "吗", "呢", "么")


@router.observe
async def understanding_ready(msg: InboundMessage, ctx: Context) -> None:
    """The model trains and the category words load in a thread once the server listens: a
    text that comes before they are ready waits for them here, without stalling the loop
    (the filters below are plain functions)."""
    if msg.kind in (Kind.TEXT, Kind.VOICE):
        await ctx.understanding.ready()


class MaybeReport:
    """What reads as a villager's problem (or may be one: the bot then asks)."""

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        text = anonymous_words(msg.text)[0]
        if not text:
            return False
        reading = ctx.understanding.read(text)
        return reading.is_report or reading.ask


# --- guided: 随手拍 -> photo -> what -> where ---------------------------------------------


@router.message(
    Command("随手拍", "report"), roles={Role.VILLAGER}, menu="menu.report", menu_order=30
)
async def guided_start(msg: InboundMessage, ctx: Context) -> Reply:
    # each step takes the villager's words as they come (通知说… is what happened)
    ctx.conversation.set(GUIDED, verbatim=True, step="photo", photos=[])
    return ctx.reply("report.guide.photo")


@router.message(Command(*CANCEL_WORDS), InState(GUIDED))
@router.message(Command(*CANCEL_WORDS), InState(AWAITING_WORDS))
async def cancel(msg: InboundMessage, ctx: Context) -> Reply:
    ctx.conversation.end()
    return ctx.reply("report.guide.cancelled")


@router.message(InState(GUIDED), roles={Role.VILLAGER})
async def guided_step(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.state is not None
    data: dict[str, Any] = dict(ctx.state.data)
    step = data.get("step", "photo")
    if msg.kind is Kind.IMAGE:
        name = await keep_photo(msg, ctx)
        if isinstance(name, Reply):
            return name
        data["photos"] = [*data.get("photos", []), name][-MAX_PHOTOS:]
        if step == "photo":
            return _next_step(ctx, data, "what")
        ctx.conversation.set(GUIDED, verbatim=True, **data)
        return ctx.reply("report.guide.another_photo")
    if msg.kind is Kind.LOCATION and msg.location is not None:
        data["location"] = msg.location.model_dump()
        return await _guided_submit(msg, ctx, data)
    text = msg.text.strip()
    if msg.kind not in (Kind.TEXT, Kind.VOICE) or not text:
        return ctx.reply(f"report.guide.{step}")  # say again what this step needs
    skipped = text in SKIP_WORDS
    if step == "photo":
        if skipped:
            return _next_step(ctx, data, "what")
        data["words"] = text  # words instead of a photo: what happened, said at once
        return _next_step(ctx, data, "where")
    if step == "what":
        data["words"] = "" if skipped else text
        return _next_step(ctx, data, "where")
    data["place"] = "" if skipped else text
    return await _guided_submit(msg, ctx, data)


def _next_step(ctx: Context, data: dict[str, Any], step: str) -> Reply:
    ctx.conversation.set(GUIDED, verbatim=True, **(data | {"step": step}))
    return ctx.reply(f"report.guide.{step}")


async def _guided_submit(msg: InboundMessage, ctx: Context, data: dict[str, Any]) -> Reply:
    ctx.conversation.end()
    words, photos = str(data.get("words", "")), list(data.get("photos", []))
    if not words and not photos:
        return ctx.reply("report.guide.empty")
    where = Location.model_validate(data["location"]) if data.get("location") else None
    return await submit(msg, ctx, words, photos, where, str(data.get("place", "")))


# --- a photo, its words, its place -----------------------------------------------------------


@router.message(KindIs(Kind.IMAGE), roles={Role.VILLAGER})
async def photo(msg: InboundMessage, ctx: Context) -> Reply | None:
    """A photo: with its caption it is a report at once; otherwise keep it and ask for the
    words (the next message, within the state's time). More photos may come first."""
    name = await keep_photo(msg, ctx)
    if isinstance(name, Reply):
        return name
    state = ctx.state if ctx.state is not None and ctx.state.name == AWAITING_WORDS else None
    photos = [*(state.data.get("photos", []) if state else []), name][-MAX_PHOTOS:]
    if msg.text.strip():
        ctx.conversation.end()
        return await submit(msg, ctx, msg.text.strip(), photos, located(ctx), "")
    ctx.conversation.set(AWAITING_WORDS, **((state.data if state else {}) | {"photos": photos}))
    if state is not None:
        return None  # one answer for a burst of photos
    cadre = not ctx.roles.isdisjoint(CADRE_ROLES)
    return ctx.reply("report.photo_received_cadre" if cadre else "report.photo_received")


@router.message(InState(AWAITING_WORDS), KindIs(Kind.LOCATION), roles={Role.VILLAGER})
async def place_before_words(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.state is not None
    assert msg.location is not None
    ctx.conversation.set(
        AWAITING_WORDS, **(ctx.state.data | {"location": msg.location.model_dump()})
    )
    return ctx.reply("report.place_received_ask_words")


@router.message(InState(AWAITING_WORDS), KindIs(Kind.TEXT, Kind.VOICE), roles={Role.VILLAGER})
async def words_for_photo(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.state is not None
    text = "" if msg.text.strip() in SKIP_WORDS else msg.text.strip()
    ctx.conversation.end()
    photos = list(ctx.state.data.get("photos", []))
    return await submit(msg, ctx, text, photos, located(ctx), "")


@router.message(InState(AWAITING_PLACE), KindIs(Kind.LOCATION), roles={Role.VILLAGER})
async def place_after(msg: InboundMessage, ctx: Context) -> Reply:
    """A location pin sent just after the report: it says where the problem is."""
    assert ctx.state is not None
    assert ctx.person is not None
    assert msg.location is not None
    ctx.conversation.end()
    report = await ctx.store.reports.get(int(ctx.state.data["report"]), lock=True)
    if report is None or report.reporter_id != ctx.person.id:
        return ctx.reply("fallback.unknown")
    locate(report, msg.location, "")
    return ctx.reply("report.place_added", number=report.id)


@router.message(KindIs(Kind.TEXT, Kind.VOICE), MaybeReport(), roles={Role.VILLAGER})
async def words_only(msg: InboundMessage, ctx: Context) -> Reply:
    """村口路灯坏了三天了: a report in words alone; when its category is unclear (or whether
    it is one at all), the villager is asked in one line."""
    text = msg.text.strip()
    reading = ctx.understanding.read(anonymous_words(text)[0])
    if reading.sure and not text.rstrip("。.!！~～ ").endswith(QUESTION_ENDINGS):
        return await submit(msg, ctx, text, [], None, "", category=reading.category)
    return asking.ask(ctx, text, reading)  # unsure, or asked as a question (停水了吗？)
