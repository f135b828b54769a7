"""随手拍: a villager reports a problem (words, or a photo and words); it is classified, routed
to the cadre who handles it, announced in the cadre group, and can be followed (我的上报,
查进度 N)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.message import InboundMessage, Kind, Push, Reply
from bot.router import Command, InState, KindIs, Router
from handlers.reports.classify import Classifier
from handlers.reports.routing import route
from storage.models import Report, ReportStatus, Role

router = Router(name="reports")

AWAITING_WORDS = "reports.await_words"  # a photo came; its words may follow
SKIP_WORDS = ("跳过", "没有", "skip")


@cache
def classifier() -> Classifier:
    """The categories' words, loaded once (jieba's dictionary takes half a second)."""
    return Classifier.from_file()


QUESTION_ENDINGS = ("?", "？", "吗", "呢", "么", "没有")


class LooksLikeReport:
    """Words that point to a report category (路灯坏了, 垃圾没人收…), said as a statement: a
    question (停水了吗？) is not a report."""

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        text = msg.text.strip().rstrip("。.!！~～")
        if not text or text.endswith(QUESTION_ENDINGS):
            return False
        return bool(classifier().classify(text).words)


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
            date=_local(ctx, r.created_at).strftime("%m-%d"),
        )
        for r in reports
    ]
    lines.append(ctx.t("report.mine_hint"))
    return Reply.of_text("\n".join(lines))


@router.message(Command("查进度", "progress"), roles={Role.VILLAGER})
async def progress(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.person is not None
    number = ctx.args.strip().lstrip("#＃")
    if not number.isdigit():
        return ctx.reply("report.progress_usage")
    report = await ctx.store.reports.get(int(number))
    if report is None or report.reporter_id != ctx.person.id:
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
        when = _local(ctx, event.at).strftime("%m-%d %H:%M")
        lines.append(ctx.t(f"report.event.{event.kind}", time=when))
    return Reply.of_text("\n".join(lines))


@router.message(KindIs(Kind.IMAGE), roles={Role.VILLAGER}, menu="menu.report", menu_order=30)
async def photo(msg: InboundMessage, ctx: Context) -> Reply | None:
    """A photo: keep it and ask for the words (the next message, within the state's time)."""
    name = _stored_photo(msg)
    if name is None:
        return ctx.reply("fallback.unsupported")
    photos = [*(ctx.state.data.get("photos", []) if ctx.state else []), name]
    ctx.conversation.set(AWAITING_WORDS, photos=photos[-9:])
    return ctx.reply("report.photo_received") if len(photos) == 1 else None


@router.message(InState(AWAITING_WORDS), KindIs(Kind.TEXT, Kind.VOICE), roles={Role.VILLAGER})
async def words_for_photo(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.state is not None
    text = "" if msg.text.strip() in SKIP_WORDS else msg.text.strip()
    ctx.conversation.end()
    return await _submit(msg, ctx, text, list(ctx.state.data.get("photos", [])))


@router.message(KindIs(Kind.TEXT, Kind.VOICE), LooksLikeReport(), roles={Role.VILLAGER})
async def words_only(msg: InboundMessage, ctx: Context) -> Reply:
    """村口路灯坏了三天了: a report in words alone."""
    return await _submit(msg, ctx, msg.text.strip(), [])


async def _submit(msg: InboundMessage, ctx: Context, text: str, photos: list[str]) -> Reply:
    person = ctx.person
    assert person is not None
    if person.village_id is None:
        return ctx.reply("report.no_village")
    guess = classifier().classify(text) if text else None
    category = guess.category if guess is not None else classifier().other
    now = ctx.clock.now()
    to = await route(
        ctx.store, person.village_id, person.grid_id, category.name, category.handled_by
    )
    report = await ctx.store.reports.create(
        Report(
            reporter_id=person.id,
            channel=msg.channel,
            chat_id=msg.chat_id,
            chat_is_group=msg.is_group,
            village_id=person.village_id,
            grid_id=person.grid_id,
            unit_id=to.unit_id,
            category=category.name,
            text=text[:1000],
            place="",
            anonymous=False,
            status=ReportStatus.SUBMITTED,
            assignee_id=to.assignee_id,
            created_at=now,
            accept_due_at=now + timedelta(hours=category.accept_hours),
            resolve_due_at=now + timedelta(hours=category.resolve_hours),
        )
    )
    submitted = await ctx.store.reports.event(report, "submitted", at=now, actor_id=person.id)
    for name in photos:
        ctx.store.reports.photo(report, name, event=submitted, proof=False)
    if to.assignee_id is not None:
        await ctx.store.reports.event(
            report, "assigned", at=now, actor_id=None, status=ReportStatus.ASSIGNED
        )
    await _announce(ctx, report, person.name, len(photos))
    if to.role is None:
        return ctx.reply("report.received_unassigned", number=report.id, category=category.name)
    return ctx.reply(
        "report.received", number=report.id, category=category.name, role=ctx.t(f"role.{to.role}")
    )


async def _announce(ctx: Context, report: Report, reporter: str, photos: int) -> None:
    """Tell the tier's cadre groups, @mentioning the assignee where they are bound."""
    assignee = await ctx.store.people.get(report.assignee_id) if report.assignee_id else None
    for group in await ctx.store.reports.cadre_groups(report.unit_id):
        mention: tuple[str, ...] = ()
        if assignee is not None:
            identity = await ctx.store.identities.of_person(assignee.id, group.channel)
            mention = (identity.external_id,) if identity is not None else ()
        text = ctx.t(
            "report.announce",
            number=report.id,
            category=report.category,
            text=report.text or ctx.t("report.no_words"),
            reporter=reporter,
            photos=photos,
            assignee=assignee.name if assignee is not None else ctx.t("report.nobody"),
        )
        reply = Reply.of_text(text, mentions=mention)
        ctx.push(
            Push(channel=group.channel, chat_id=group.external_id, is_group=True, reply=reply)
        )


def _stored_photo(msg: InboundMessage) -> str | None:
    """The media-store name of a photo already kept (the simulator stores uploads at once;
    photos from the platforms are downloaded by the coming media step)."""
    if msg.media is None or not msg.media.url.startswith("/sim/media/"):
        return None
    return msg.media.media_id or None


def _local(ctx: Context, at: datetime) -> datetime:
    return at.astimezone(ZoneInfo(ctx.settings.timezone))
