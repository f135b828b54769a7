"""随手拍: a villager reports a problem in whatever way they send it (words; a photo, then
words, then perhaps a location pin; a photo with its caption; a voice message's text; or
随手拍 to be guided step by step); it is classified, linked to an open report of the same
problem or routed to the cadre who handles it, and announced in the cadre group. Following it
afterwards (我的上报, 查进度 N, 满意 N) is handlers/reports/following.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.context import Context
from bot.message import InboundMessage, Kind, Location, Reply
from bot.router import CANCEL_WORDS, Command, InState, KindIs, Router
from handlers.reports.classify import BOOK, Category, Classifier
from handlers.reports.duplicates import follow, same_problem
from handlers.reports.lifecycle import (
    AWAITING_WORDS,
    Tell,
    category_shown,
    keep_photo,
    reporter_name,
)
from handlers.reports.routing import Route, route
from storage.models import CADRE_ROLES, Report, ReportStatus, Role

router = Router(name="reports")

AWAITING_PLACE = "reports.await_place"  # a report was made: its location pin may follow
GUIDED = "reports.guided"  # 随手拍 step by step: photo -> what -> where
SKIP_WORDS = ("跳过", "没有", "不用", "skip")
ANONYMOUS = ("匿名", "anonymous")
MAX_PHOTOS = 9


def classifier() -> Classifier:
    """The categories' words as this instance has them now."""
    return BOOK.current()


QUESTION_ENDINGS = ("?", "？", "吗", "呢", "么", "没有")


@router.observe
async def words_ready(msg: InboundMessage, ctx: Context) -> None:
    """The category words load in a thread after the server starts listening: a text that
    comes before they are ready waits for them here, without stalling the loop (the
    filters below are plain functions)."""
    if msg.kind in (Kind.TEXT, Kind.VOICE):
        await BOOK.ready()


class LooksLikeReport:
    """Words that point to a report category (路灯坏了, 垃圾没人收…), said as a statement: a
    question (停水了吗？) is not a report."""

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        text = msg.text.strip().rstrip("。.!！~～")
        if not text or text.endswith(QUESTION_ENDINGS):
            return False
        return bool(classifier().classify(_anonymous(text)[0]).words)


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
    return await _submit(msg, ctx, words, photos, where, str(data.get("place", "")))


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
        return await _submit(msg, ctx, msg.text.strip(), photos, _located(ctx), "")
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
    return await _submit(msg, ctx, text, photos, _located(ctx), "")


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
    _locate(report, msg.location, "")
    return ctx.reply("report.place_added", number=report.id)


@router.message(KindIs(Kind.TEXT, Kind.VOICE), LooksLikeReport(), roles={Role.VILLAGER})
async def words_only(msg: InboundMessage, ctx: Context) -> Reply:
    """村口路灯坏了三天了: a report in words alone."""
    return await _submit(msg, ctx, msg.text.strip(), [], None, "")


# --- making the report -----------------------------------------------------------------------


async def _submit(
    msg: InboundMessage,
    ctx: Context,
    text: str,
    photos: list[str],
    where: Location | None,
    place: str,
) -> Reply:
    person = ctx.person
    assert person is not None
    if person.village_id is None:
        return ctx.reply("report.no_village")
    text, anonymous = _anonymous(text)
    guess = classifier().classify(text) if text else None
    category = guess.category if guess is not None else classifier().other
    if not category.personal:
        same = await same_problem(ctx, person.village_id, category.name, where)
        if same is not None:
            return await follow(msg, ctx, same, photos)
    to = await route(
        ctx.store, person.village_id, person.grid_id, category.name, category.handled_by
    )
    report = _new_report(msg, ctx, category, to, text[:1000], anonymous)
    _locate(report, where, place)
    await _file(ctx, report, photos)
    await _announce(ctx, report, photos)
    if where is None and not place:
        ctx.conversation.set(AWAITING_PLACE, report=report.id)  # a pin may follow
    shown = category_shown(ctx.t, category.name)
    if to.role is None:
        return ctx.reply("report.received_unassigned", number=report.id, category=shown)
    return ctx.reply(
        "report.received", number=report.id, category=shown, role=ctx.t(f"role.{to.role}")
    )


def _new_report(
    msg: InboundMessage, ctx: Context, category: Category, to: Route, text: str, anonymous: bool
) -> Report:
    assert ctx.person is not None
    assert ctx.person.village_id is not None
    now = ctx.clock.now()
    return Report(
        reporter_id=ctx.person.id,
        channel=msg.channel,
        chat_id=msg.chat_id,
        chat_is_group=msg.is_group,
        village_id=ctx.person.village_id,
        grid_id=ctx.person.grid_id,
        unit_id=to.unit_id,
        category=category.name,
        text=text,
        anonymous=anonymous,
        status=ReportStatus.SUBMITTED,
        assignee_id=to.assignee_id,
        created_at=now,
        accept_due_at=now + timedelta(hours=category.accept_hours),
        resolve_due_at=now + timedelta(hours=category.resolve_hours),
    )


async def _file(ctx: Context, report: Report, photos: list[str]) -> None:
    """Number the report and start its timeline: made (with its photos), then handed to the
    person in charge if routing found one."""
    assert ctx.person is not None
    now = ctx.clock.now()
    report = await ctx.store.reports.create(report)
    submitted = await ctx.store.reports.event(report, "submitted", at=now, actor_id=ctx.person.id)
    for name in photos:
        ctx.store.reports.photo(report, name, event=submitted, proof=False)
    if report.assignee_id is not None:
        await ctx.store.reports.event(
            report, "assigned", at=now, actor_id=None, status=ReportStatus.ASSIGNED
        )


async def _announce(ctx: Context, report: Report, photos: list[str]) -> None:
    """The holding tier's cadre groups hear what, where and who reported it, with its first
    photo (shown where the platform can, and as a link), who is to take it on (named, and
    @mentioned where the platform can) and the replies that do it."""
    tell = Tell.of(ctx)
    actors = await tell.actors(report)
    photo = (
        ctx.t_for(None, "report.announce_photo", link=ctx.links.photo(photos[0])) if photos else ""
    )
    await tell.tier(
        report,
        "report.announce",
        mention=actors.mention,
        image=photos[0] if photos else "",
        text=report.text or ctx.t_for(None, "report.no_words"),
        place=_place_line(ctx, report),
        photo=photo,
        reporter=await reporter_name(ctx, report, private=False),
        photos=len(photos),
        assignee=actors.in_charge,
        who=actors.who,
    )


def _anonymous(text: str) -> tuple[str, bool]:
    """ "匿名 村口有人赌博" -> ("村口有人赌博", True)."""
    stripped = text.strip()
    for word in ANONYMOUS:
        if stripped.startswith(word):
            return stripped[len(word) :].strip(" :：,，、"), True
    return stripped, False


def _located(ctx: Context) -> Location | None:
    raw = ctx.state.data.get("location") if ctx.state is not None else None
    return Location.model_validate(raw) if raw else None


def _locate(report: Report, where: Location | None, place: str) -> None:
    if where is not None:
        report.latitude, report.longitude = where.latitude, where.longitude
        place = place or where.label
    report.place = place[:128]


def _place_line(ctx: Context, report: Report) -> str:
    return ctx.t_for(None, "report.announce_place", place=report.place) if report.place else ""
