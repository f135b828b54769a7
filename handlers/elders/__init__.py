"""关爱空巢老人: an elder's every message says they are well; 平安 / 签到 say it on purpose, a
caretaker's 已上门 says it for them. Silence past the elder's threshold raises an alert (the
sweep's), which climbs from the caretakers to the village secretary to the township group
until someone visits; 救命 / 求助 / 摔倒 raise one at once, to everyone on the ladder.

One alert per elder is open at a time. The elder's own word closes a quiet alert and tells
everyone it reached ("老人已报平安"); an SOS closes only with a visit (已上门).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import Command, KindIs, ReadsAs, Router
from handlers.elders.alerts import Care, Reached, climb, heard_from, raise_quiet, sos
from handlers.points.auto import ELDER_VISITED, earn
from storage.models import CADRE_ROLES, ContactRelation, Person, Role
from understanding import Intent, Reading

router = Router(name="elders")
__all__ = ["Care", "climb", "raise_quiet", "router"]


# --- what people send ------------------------------------------------------------------------


@router.observe
async def watch(msg: InboundMessage, ctx: Context) -> Reply | None:
    """Every message from an elder, addressed to the bot or not: they are active; with an
    SOS word, an urgent alert to everyone on the ladder, at once."""
    person = ctx.person
    if person is None or not person.is_elder:
        return None
    care = Care.of(ctx)
    now = ctx.clock.now()
    reading = await _read(msg, ctx)
    listed = any(word in msg.text for word in ctx.settings.elder_sos_words)
    if listed or (reading is not None and reading.alarm):
        reached = await sos(care, person.id, msg.text.strip(), now)
        return _sos_answer(ctx, reached)
    await heard_from(care, person.id, now, by=None, note="")
    return None


async def _read(msg: InboundMessage, ctx: Context) -> Reading | None:
    """What an elder's words mean (an SOS need not say 救命: 胸口痛得很，喊个人来); a missed
    SOS is the worst error, so the threshold leans to a false alarm."""
    if not msg.text.strip() or ctx.menu.is_command(msg.text):
        return None  # 帮助, 平安, 已上门 … say what they say
    await ctx.understanding.ready()
    return ctx.understanding.read(msg.text)


def _sos_answer(ctx: Context, reached: Reached) -> Reply:
    """Help is coming, saying only who was really told; nobody at all: call 120 now."""
    parts = [
        ctx.t(key)
        for key, told in (
            ("elder.reached_caretakers", reached.caretakers),
            ("elder.reached_cadres", reached.cadres),
            ("elder.reached_township", reached.township),
            ("elder.reached_family", reached.family),
        )
        if told
    ]
    if not parts:
        return ctx.reply("elder.sos_reply_nobody")
    who = (
        parts[0]
        if len(parts) == 1
        else ctx.t("list.and", rest=ctx.t("list.sep").join(parts[:-1]), last=parts[-1])
    )
    return ctx.reply("elder.sos_reply", who=who)


@router.message(
    Command("平安", "签到", "check in"),
    roles={Role.VILLAGER},
    menu="menu.checkin",
    menu_order=60,
    menu_roles={Role.ELDER},
)
async def check_in(msg: InboundMessage, ctx: Context) -> Reply:
    """An elder's 平安 (the activity itself was noted by `watch`)."""
    assert ctx.person is not None
    return ctx.reply("elder.checkin_ok", name=ctx.person.name)


@router.message(KindIs(Kind.TEXT, Kind.VOICE), ReadsAs(Intent.CHECKIN), roles={Role.ELDER})
async def check_in_in_own_words(msg: InboundMessage, ctx: Context) -> Reply:
    """今天精神还可以哈: an elder's 平安 in their own words."""
    assert ctx.person is not None
    return ctx.reply("elder.checkin_free", name=ctx.person.name)


@router.message(
    Command("已上门", "visited"),
    roles={Role.VILLAGER},
    menu="menu.visit",
    menu_order=61,
    menu_roles={Role.CARETAKER, Role.FAMILY, *CADRE_ROLES},
)
async def visited(msg: InboundMessage, ctx: Context) -> Reply:
    """已上门 12 身体很好 (an alert's number) or 已上门 孙大爷 平安 (an elder's name), by a
    caretaker, family or a cadre of the elder's village or above."""
    assert ctx.person is not None
    what, _, note = ctx.args.strip().partition(" ")
    note = note.strip() or ctx.t("elder.visit_default_note")
    if not what:
        return ctx.reply("elder.visit_usage")
    elder_id = await _elder_of(ctx, what)
    if elder_id is None:
        return ctx.reply("elder.visit_unknown", what=what)
    elder = await ctx.store.people.get(elder_id)
    assert elder is not None
    if not await _may_visit(ctx, elder):
        return ctx.reply("elder.visit_not_yours", name=elder.name)
    by = await ctx.store.people.get(ctx.person.id)
    assert by is not None
    now = ctx.clock.now()
    closed = await heard_from(Care.of(ctx), elder.id, now, by=by, note=note)
    if closed is None:
        answer = ctx.t("elder.visit_noted", name=elder.name, note=note)
    else:
        answer = ctx.t("elder.visit_closed", number=closed.id, name=elder.name, note=note)
    earned = await _care_points(ctx, elder, closed.id if closed is not None else None)
    if earned:
        answer += "\n" + ctx.t("points.earned", rule=ELDER_VISITED, points=earned)
    return Reply.of_text(answer)


async def _care_points(ctx: Context, elder: Person, alert_id: int | None) -> int | None:
    """A caretaker's visit earns their household `关爱老人`: once per alert, or once a day
    for a visit no alert called for (family and cadres visit as kin and as duty)."""
    assert ctx.person is not None
    contacts = await ctx.store.elders.contacts(elder.id)
    if not any(p.id == ctx.person.id and r is ContactRelation.CARETAKER for p, r in contacts):
        return None
    zone = ZoneInfo(ctx.settings.timezone)
    now = ctx.clock.now()
    day = now.astimezone(zone).date().isoformat()
    source = f"visit:alert:{alert_id}" if alert_id is not None else f"visit:{elder.id}:{day}"
    return await earn(ctx.store, ctx.person.id, ELDER_VISITED, source, now, zone)


async def _elder_of(ctx: Context, what: str) -> int | None:
    number = what.lstrip("#＃")
    if number.isdigit():
        alert = await ctx.store.elders.alert(int(number))
        return alert.elder_id if alert is not None else None
    named = await ctx.store.elders.elders_named(what)
    return named[0].id if named else None


async def _may_visit(ctx: Context, elder: Person) -> bool:
    """The elder's caretakers and family, and cadres of the elder's grid, village or above."""
    assert ctx.person is not None
    if any(p.id == ctx.person.id for p, _ in await ctx.store.elders.contacts(elder.id)):
        return True
    serving = {a.org_unit_id for a in ctx.assignments if a.role in CADRE_ROLES}
    unit_id = elder.grid_id or elder.village_id
    while unit_id is not None:
        if unit_id in serving:
            return True
        unit = await ctx.store.org.get(unit_id)
        unit_id = unit.parent_id if unit is not None else None
    return False
