"""Making a 随手拍 report from what the villager sent: its category (decided by the
understanding, or by the villager's answer to the bot's one question), linked to an open
report of the same problem or routed to the cadre who handles it, numbered, put on its
timeline and announced in the cadre group of the tier that holds it."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.message import InboundMessage, Location, Reply
from handlers.reports.duplicates import Same, follow, same_problem
from handlers.reports.lifecycle import Tell, category_shown, reporter_name
from handlers.reports.routing import Route, route
from storage.models import Report, ReportStatus
from understanding import OTHER, Category

AWAITING_PLACE = "reports.await_place"  # a report was made: its location pin may follow
ANONYMOUS = ("匿名", "anonymous")


async def submit(
    msg: InboundMessage,
    ctx: Context,
    text: str,
    photos: list[str],
    where: Location | None,
    place: str,
    *,
    category: str | None = None,
    link: bool = True,
) -> Reply:
    """Make the report (or link it to the same open one, unless not to `link`); `category`
    None: the one the understanding reads in the words (其他 without words)."""
    person = ctx.person
    assert person is not None
    if person.village_id is None:
        return ctx.reply("report.no_village")
    text, anonymous = anonymous_words(text)
    if category is None:
        category = ctx.understanding.read(text).category if text else OTHER
    chosen = ctx.understanding.category(category or OTHER)
    same = Same()
    if not chosen.personal and link:
        same = await same_problem(ctx, person.village_id, chosen.name, text, where)
        if same.report is not None:
            return await follow(msg, ctx, same.report, (text, photos, where, place))
    to = await route(ctx.store, person.village_id, person.grid_id, chosen.name, chosen.handled_by)
    report = _new_report(msg, ctx, chosen, to, text[:1000], anonymous)
    locate(report, where, place)
    await _file(ctx, report, photos)
    await _announce(ctx, report, photos)
    maybe = same.maybe.id if same.maybe is not None else None
    if (where is None and not place) or maybe is not None:
        ctx.conversation.set(AWAITING_PLACE, report=report.id, maybe=maybe)  # a pin, 同一件
    shown = category_shown(ctx.t, chosen.name)
    if to.role is None:
        answer = ctx.t("report.received_unassigned", number=report.id, category=shown)
    else:
        role = ctx.t(f"role.{to.role}")
        answer = ctx.t("report.received", number=report.id, category=shown, role=role)
    if same.maybe is not None:
        key = "report.maybe_yours" if same.maybe.reporter_id == person.id else "report.maybe_same"
        answer += "\n" + ctx.t(key, number=same.maybe.id, text=_snippet(same.maybe.text))
    return Reply.of_text(answer)


def _snippet(text: str, most: int = 24) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


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


def anonymous_words(text: str) -> tuple[str, bool]:
    """ "匿名 村口有人赌博" -> ("村口有人赌博", True)."""
    stripped = text.strip()
    for word in ANONYMOUS:
        if stripped.startswith(word):
            return stripped[len(word) :].strip(" :：,，、"), True
    return stripped, False


def located(ctx: Context) -> Location | None:
    raw = ctx.state.data.get("location") if ctx.state is not None else None
    return Location.model_validate(raw) if raw else None


def locate(report: Report, where: Location | None, place: str) -> None:
    if where is not None:
        report.latitude, report.longitude = where.latitude, where.longitude
        place = place or where.label
    report.place = place[:128]


def _place_line(ctx: Context, report: Report) -> str:
    return ctx.t_for(None, "report.announce_place", place=report.place) if report.place else ""
