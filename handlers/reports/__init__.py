"""随手拍: a villager reports a problem in whatever way they send it (words; a photo, then
words, then perhaps a location pin; a photo with its caption; a voice message's text; or
随手拍 to be guided step by step); it is classified, linked to an open report of the same
problem or routed to the cadre who handles it, and announced in the cadre group. The reporter
follows it (我的上报, 查进度 N) and has the last word on the fix (满意 N / 不满意 N 原因)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from bot.context import Context
from bot.message import InboundMessage, Kind, Location, Reply
from bot.router import CANCEL_WORDS, Command, InState, KindIs, Router
from handlers.reports.classify import BOOK, Classifier
from handlers.reports.lifecycle import (
    AWAITING_WORDS,
    Tell,
    keep_photo,
    local_time,
    number_and_rest,
    reporter_name,
)
from handlers.reports.routing import route
from storage.models import CADRE_ROLES, Report, ReportFollower, ReportStatus, Role

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


class LooksLikeReport:
    """Words that point to a report category (路灯坏了, 垃圾没人收…), said as a statement: a
    question (停水了吗？) is not a report."""

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        text = msg.text.strip().rstrip("。.!！~～")
        if not text or text.endswith(QUESTION_ENDINGS):
            return False
        return bool(classifier().classify(_anonymous(text)[0]).words)


# --- following one's reports ---------------------------------------------------------------


@router.message(
    Command("我的上报", "my reports"), roles={Role.VILLAGER}, menu="menu.my_reports", menu_order=31
)
async def my_reports(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.person is not None
    reports = await ctx.store.reports.of_reporter(ctx.person.id)
    if not reports:
        return ctx.reply("report.mine_empty")
    lines = [ctx.t("report.mine_title")]
    lines += [
        ctx.t(
            "report.mine_line",
            number=r.id,
            category=r.category,
            status=ctx.t(f"report.status.{r.status}"),
            date=local_time(ctx, r.created_at).strftime("%m-%d"),
        )
        for r in reports
    ]
    lines.append(ctx.t("report.mine_hint"))
    return Reply.of_text("\n".join(lines))


@router.message(Command("查进度", "progress"), roles={Role.VILLAGER})
async def progress(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.person is not None
    number, _ = number_and_rest(ctx.args)
    if number is None:
        return ctx.reply("report.progress_usage")
    report = await ctx.store.reports.get(number)
    if report is None or not await _concerns(ctx, report):
        return ctx.reply("report.not_yours", number=number)
    lines = [
        ctx.t(
            "report.progress_title",
            number=report.id,
            category=report.category,
            status=ctx.t(f"report.status.{report.status}"),
        )
    ]
    for event in await ctx.store.reports.timeline(report.id):
        when = local_time(ctx, event.at).strftime("%m-%d %H:%M")
        lines.append(ctx.t(f"report.event.{event.kind}", time=when))
    return Reply.of_text("\n".join(lines))


@router.message(Command("满意", "satisfied"), roles={Role.VILLAGER}, menu="menu.satisfied")
async def satisfied(msg: InboundMessage, ctx: Context) -> Reply:
    """满意 12: the fix is good; the report is closed."""
    report = await _resolved_report_of_mine(ctx)
    if isinstance(report, Reply):
        return report
    assert ctx.person is not None
    now = ctx.clock.now()
    report.satisfied, report.closed_at = True, now
    await ctx.store.reports.event(
        report, "confirmed", at=now, actor_id=ctx.person.id, status=ReportStatus.CLOSED
    )
    await Tell.of(ctx).tier(report, "report.confirmed_group")
    return ctx.reply("report.thanks", number=report.id)


@router.message(Command("不满意", "not satisfied"), roles={Role.VILLAGER})
async def unsatisfied(msg: InboundMessage, ctx: Context) -> Reply:
    """不满意 12 原因: not fixed; the report is open again, with the same person in charge."""
    report = await _resolved_report_of_mine(ctx)
    if isinstance(report, Reply):
        return report
    assert ctx.person is not None
    _, reason = number_and_rest(ctx.args)
    report.satisfied, report.resolved_at = False, None
    await ctx.store.reports.event(
        report,
        "reopened",
        at=ctx.clock.now(),
        actor_id=ctx.person.id,
        note=reason,
        status=ReportStatus.REOPENED,
    )
    await Tell.of(ctx).tier(
        report,
        "report.reopened_group",
        mention=report.assignee_id,
        reason=reason or ctx.t_for(None, "report.no_reason"),
    )
    return ctx.reply("report.reopened", number=report.id)


async def _resolved_report_of_mine(ctx: Context) -> Report | Reply:
    """The report named (or, with no number, the only one waiting for this person's word),
    if it is theirs and waiting for their word."""
    assert ctx.person is not None
    number, _ = number_and_rest(ctx.args)
    if number is None:
        waiting = [
            r
            for r in await ctx.store.reports.of_reporter(ctx.person.id, limit=20)
            if r.status is ReportStatus.RESOLVED
        ]
        if len(waiting) != 1:
            return ctx.reply("report.verdict_usage")
        number = waiting[0].id
    report = await ctx.store.reports.get(number, lock=True)
    if report is None or report.reporter_id != ctx.person.id:
        return ctx.reply("report.not_yours", number=number)
    if report.status is not ReportStatus.RESOLVED:
        return ctx.reply(
            "report.not_resolved", number=report.id, status=ctx.t(f"report.status.{report.status}")
        )
    return report


async def _concerns(ctx: Context, report: Report) -> bool:
    """Whether the sender reported it, or reported the same problem and was linked to it."""
    assert ctx.person is not None
    if report.reporter_id == ctx.person.id:
        return True
    return any(f.person_id == ctx.person.id for f in await ctx.store.reports.followers(report.id))


# --- guided: 随手拍 -> photo -> what -> where ---------------------------------------------


@router.message(
    Command("随手拍", "report"), roles={Role.VILLAGER}, menu="menu.report", menu_order=30
)
async def guided_start(msg: InboundMessage, ctx: Context) -> Reply:
    ctx.conversation.set(GUIDED, step="photo", photos=[])
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
        ctx.conversation.set(GUIDED, **data)
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
    ctx.conversation.set(GUIDED, **(data | {"step": step}))
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
    now = ctx.clock.now()
    if not category.personal:
        same = await _same_problem(ctx, person.village_id, category.name, where)
        if same is not None:
            return await _follow(msg, ctx, same, photos)
    to = await route(
        ctx.store, person.village_id, person.grid_id, category.name, category.handled_by
    )
    report = Report(
        reporter_id=person.id,
        channel=msg.channel,
        chat_id=msg.chat_id,
        chat_is_group=msg.is_group,
        village_id=person.village_id,
        grid_id=person.grid_id,
        unit_id=to.unit_id,
        category=category.name,
        text=text[:1000],
        anonymous=anonymous,
        status=ReportStatus.SUBMITTED,
        assignee_id=to.assignee_id,
        created_at=now,
        accept_due_at=now + timedelta(hours=category.accept_hours),
        resolve_due_at=now + timedelta(hours=category.resolve_hours),
    )
    _locate(report, where, place)
    report = await ctx.store.reports.create(report)
    submitted = await ctx.store.reports.event(report, "submitted", at=now, actor_id=person.id)
    for name in photos:
        ctx.store.reports.photo(report, name, event=submitted, proof=False)
    if to.assignee_id is not None:
        await ctx.store.reports.event(
            report, "assigned", at=now, actor_id=None, status=ReportStatus.ASSIGNED
        )
    await Tell.of(ctx).tier(
        report,
        "report.announce",
        mention=report.assignee_id,
        text=report.text or ctx.t_for(None, "report.no_words"),
        place=_place_line(ctx, report),
        reporter=await reporter_name(ctx, report, private=False),
        photos=len(photos),
        assignee=await _name(ctx, report.assignee_id),
    )
    if where is None and not place:
        ctx.conversation.set(AWAITING_PLACE, report=report.id)  # a pin may follow
    if to.role is None:
        return ctx.reply("report.received_unassigned", number=report.id, category=category.name)
    return ctx.reply(
        "report.received", number=report.id, category=category.name, role=ctx.t(f"role.{to.role}")
    )


async def _same_problem(
    ctx: Context, village_id: int, category: str, where: Location | None
) -> Report | None:
    """An open report of the village and category, recent, and near when both are located."""
    since = ctx.clock.now() - timedelta(hours=ctx.settings.report_duplicate_hours)
    for other in await ctx.store.reports.open_like(village_id, category, since):
        if where is not None and other.latitude is not None and other.longitude is not None:
            metres = _distance(where.latitude, where.longitude, other.latitude, other.longitude)
            if metres > ctx.settings.report_duplicate_metres:
                continue
        return other
    return None


async def _follow(msg: InboundMessage, ctx: Context, report: Report, photos: list[str]) -> Reply:
    """Link the sender to the open report of the same problem; their photos join it."""
    assert ctx.person is not None
    now = ctx.clock.now()
    if report.reporter_id == ctx.person.id:
        added = False
    else:
        follower = ReportFollower(
            report_id=report.id,
            person_id=ctx.person.id,
            channel=msg.channel,
            chat_id=msg.chat_id,
            chat_is_group=msg.is_group,
            at=now,
        )
        added = await ctx.store.reports.follow(report, follower)
    if added or photos:
        event = await ctx.store.reports.event(
            report, "also_reported", at=now, actor_id=ctx.person.id
        )
        for name in photos:
            ctx.store.reports.photo(report, name, event=event, proof=False)
    count = (await ctx.store.reports.reporters([report.id]))[report.id]
    if added:
        await Tell.of(ctx).tier(
            report, "report.also_reported_group", count=count, photos=len(photos)
        )
    if report.reporter_id == ctx.person.id:
        return ctx.reply("report.already_yours", number=report.id)
    return ctx.reply("report.duplicate", number=report.id, count=count)


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


async def _name(ctx: Context, person_id: int | None) -> str:
    person = await ctx.store.people.get(person_id) if person_id is not None else None
    return person.name if person is not None else ctx.t_for(None, "report.nobody")


def _distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two points on the Earth (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))
