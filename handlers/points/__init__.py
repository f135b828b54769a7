"""积分, the villager's side: the household's balance, its place in the village and its latest
entries (我的积分), more of them (积分明细), the rules that can be claimed (积分规则), and a claim
with a photo as evidence (申报积分 规则 说明: the photo sent just before, or within the
state's time after; a village cadre reviews it, handlers/points/reviewing.py). Points belong
to the household: every member sees the same balance."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import CANCEL_WORDS, Command, InState, KindIs, ReadsAs, Router
from handlers.points.editing import EDIT, is_edit
from handlers.points.ledger import entry_lines, points_shown
from handlers.points.rules import How, Rule, month_start, rules
from handlers.reports.lifecycle import AWAITING_WORDS, keep_photo
from handlers.tell import Tell
from storage.models import ClaimStatus, PointClaim, Role
from understanding import Intent

router = Router(name="points")
AWAITING_EVIDENCE = "points.await_evidence"  # 申报积分 came without a photo: it may follow
AWAITING_RULE = "points.await_rule"  # 申报积分 alone: which rule, and what was done
LATEST, MORE = 5, 20
MAX_PHOTOS = 9


MY_POINTS = Command("我的积分", "查积分", "积分", "my points")


def alone(msg: InboundMessage, ctx: Context) -> bool:
    """我的积分 takes no words after it: 积分商品, 积分明细 … are commands of their own."""
    return MY_POINTS.args(msg.text) == ""


@router.message(
    MY_POINTS,
    alone,
    roles={Role.VILLAGER},
    menu="menu.my_points",
    menu_order=35,
)
async def my_points(msg: InboundMessage, ctx: Context) -> Reply:
    return await _balance(ctx)


@router.message(KindIs(Kind.TEXT, Kind.VOICE), ReadsAs(Intent.POINTS), roles={Role.VILLAGER})
async def asking_about_points(msg: InboundMessage, ctx: Context) -> Reply:
    """你家有多少积分了 / 积分能换啥子: asked in their own words, the household's points."""
    return await _balance(ctx)


async def _balance(ctx: Context) -> Reply:
    household = _household(ctx)
    if isinstance(household, Reply):
        return household
    points = ctx.store.points
    balance = await points.balance(household)
    assert ctx.person is not None
    assert ctx.person.village_id is not None
    rank, households = await points.rank(household, ctx.person.village_id)
    lines = [ctx.t("points.mine", balance=balance, rank=rank, households=households)]
    lines += await entry_lines(ctx, await points.entries(household, LATEST))
    lines.append(ctx.t("points.mine_hint"))
    return Reply.of_text("\n".join(lines))


@router.message(Command("积分明细", "points history"), roles={Role.VILLAGER})
async def history(msg: InboundMessage, ctx: Context) -> Reply:
    household = _household(ctx)
    if isinstance(household, Reply):
        return household
    entries = await ctx.store.points.entries(household, MORE)
    if not entries:
        return ctx.reply("points.none_yet")
    return Reply.of_text(
        "\n".join([ctx.t("points.history_title"), *await entry_lines(ctx, entries)])
    )


def listing(msg: InboundMessage, ctx: Context) -> bool:
    """积分规则 alone (积分规则 加 … is an admin's change: handlers/points/editing.py)."""
    return not is_edit(msg, ctx)


@router.message(EDIT, listing, roles={Role.VILLAGER})
async def rules_list(msg: InboundMessage, ctx: Context) -> Reply:
    lines = [ctx.t("points.rules_title")]
    village = ctx.person.village_id if ctx.person else None
    for rule in (await rules(ctx.store, village)).of(How.CLAIM):
        lines.append(_rule_line(ctx, rule))
    lines.append(ctx.t("points.rules_hint"))
    return Reply.of_text("\n".join(lines))


@router.message(
    Command("申报积分", "claim points"),
    roles={Role.VILLAGER},
    menu="menu.claim_points",
    menu_order=36,
)
async def claim(msg: InboundMessage, ctx: Context) -> Reply:
    """申报积分 庭院整洁 屋前屋后都扫干净了, with a photo sent just before (or just after);
    申报积分 alone: the bot asks which rule."""
    state = ctx.state
    photos = list(state.data.get("photos", [])) if state and state.name == AWAITING_WORDS else []
    if not ctx.args.strip() and not isinstance(_household(ctx), Reply):
        ctx.conversation.set(AWAITING_RULE, photos=photos)
        return ctx.reply("points.claim_which", names=await _claimable(ctx))
    return await _claim(msg, ctx, ctx.args, photos)


@router.message(Command(*CANCEL_WORDS), InState(AWAITING_RULE))
@router.message(Command(*CANCEL_WORDS), InState(AWAITING_EVIDENCE))
async def cancel_claim(msg: InboundMessage, ctx: Context) -> Reply:
    ctx.conversation.end()
    return ctx.reply("points.claim_cancelled")


@router.message(InState(AWAITING_RULE), KindIs(Kind.TEXT, Kind.VOICE), roles={Role.VILLAGER})
async def which_rule(msg: InboundMessage, ctx: Context) -> Reply:
    """The rule (and what was done) a bare 申报积分 asked for."""
    assert ctx.state is not None
    photos = list(ctx.state.data.get("photos", []))
    return await _claim(msg, ctx, msg.text, photos)


async def _claim(msg: InboundMessage, ctx: Context, words: str, photos: list[str]) -> Reply:
    household = _household(ctx)
    if isinstance(household, Reply):
        return household
    name, _, note = words.strip().partition(" ")
    book = await rules(ctx.store, ctx.person.village_id if ctx.person else None)
    rule = book.find(name, how=How.CLAIM) if name else None
    if rule is None:
        return ctx.reply("points.claim_usage", names=await _claimable(ctx))
    full = await _capped(ctx, household, rule)
    if full is not None:
        ctx.conversation.end()
        return full
    if not photos:
        ctx.conversation.set(AWAITING_EVIDENCE, rule=rule.code, note=note.strip())
        return ctx.reply("points.claim_needs_photo", rule=rule.name)
    ctx.conversation.end()
    return await _file(msg, ctx, household, rule, note.strip(), photos)


async def _claimable(ctx: Context) -> str:
    book = await rules(ctx.store, ctx.person.village_id if ctx.person else None)
    return "、".join(r.name for r in book.of(How.CLAIM))


@router.message(InState(AWAITING_EVIDENCE), KindIs(Kind.IMAGE), roles={Role.VILLAGER})
async def evidence(msg: InboundMessage, ctx: Context) -> Reply:
    """The photo a 申报积分 was waiting for."""
    assert ctx.state is not None
    name = await keep_photo(msg, ctx)
    if isinstance(name, Reply):
        return name  # the state stays: another photo may still come
    ctx.conversation.end()
    household = _household(ctx)
    village = ctx.person.village_id if ctx.person else None
    rule = (await rules(ctx.store, village)).rule(str(ctx.state.data["rule"]))
    if isinstance(household, Reply) or rule is None:
        return ctx.reply("points.claim_cancelled")
    return await _file(msg, ctx, household, rule, str(ctx.state.data.get("note", "")), [name])


async def _file(
    msg: InboundMessage, ctx: Context, household: int, rule: Rule, note: str, photos: list[str]
) -> Reply:
    """Make the claim and put it before the village's cadre group, with its photos' links."""
    person = ctx.person
    assert person is not None
    assert person.village_id is not None
    claim = await ctx.store.points.claim(
        PointClaim(
            household_id=household,
            village_id=person.village_id,
            person_id=person.id,
            channel=msg.channel,
            chat_id=msg.chat_id,
            chat_is_group=msg.is_group,
            rule=rule.code,
            note=note[:200],
            status=ClaimStatus.PENDING,
            at=ctx.clock.now(),
        ),
        photos[:MAX_PHOTOS],
    )
    links = "\n".join(ctx.links.photo(p) for p in photos[:MAX_PHOTOS])
    await Tell.of(ctx).groups(
        person.village_id,
        "points.claim_group",
        purpose="points",
        number=claim.id,
        name=person.name,
        rule=rule.name,
        points=points_shown(rule.points),
        note=note or "—",
        links=links,
    )
    return ctx.reply(
        "points.claimed", number=claim.id, rule=rule.name, points=points_shown(rule.points)
    )


async def _capped(ctx: Context, household: int, rule: Rule) -> Reply | None:
    """The answer when the household has had the rule's monthly most already."""
    if rule.monthly_cap is None:
        return None
    since = month_start(ctx.clock.now(), ZoneInfo(ctx.settings.timezone))
    had = abs(await ctx.store.points.from_rule(household, rule.code, since))
    if had < rule.monthly_cap:
        return None
    return ctx.reply("points.cap_reached", rule=rule.name, cap=rule.monthly_cap)


def _household(ctx: Context) -> int | Reply:
    person = ctx.person
    if person is None or person.household_id is None or person.village_id is None:
        return ctx.reply("points.no_household")
    return person.household_id


def _rule_line(ctx: Context, rule: Rule) -> str:
    cap = ctx.t("points.rule_cap", cap=rule.monthly_cap) if rule.monthly_cap else ""
    return ctx.t(
        "points.rule_line",
        code=rule.code,
        name=rule.name,
        points=points_shown(rule.points),
        cap=cap,
        what=rule.what,
    )
