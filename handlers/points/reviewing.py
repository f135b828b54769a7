"""积分, the village cadres' side: the claims waiting for review (待审积分, with their photos'
links), and the review itself, once: 通过 N enters the rule's points (held to its monthly
cap) in the household's ledger, 驳回 N 原因 refuses it; the villager is told either way. Only
the cadres of the claim's village review it."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from handlers.points.ledger import credit, points_shown
from handlers.points.rules import rules
from handlers.reports.lifecycle import number_and_rest
from handlers.tell import Tell
from storage.models import CADRE_ROLES, ClaimStatus, Level, PointClaim, Role

router = Router(name="points.reviewing")
REVIEWERS = frozenset({Role.VILLAGE_SECRETARY, Role.VILLAGE_CADRE})


@dataclass(frozen=True, slots=True)
class Numbered:
    """The command word followed by a number (通过 12, not 通过村委会就能办吗): words as
    common as 通过 and 驳回 are the command only with the claim's number."""

    command: Command

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        args = self.command.args(msg.text)
        return args is not None and args.lstrip("#＃ ")[:1].isdigit()


APPROVE, REFUSE = Command("通过", "approve"), Command("驳回", "refuse")


def villages(ctx: Context) -> set[int]:
    """The villages whose points this cadre reviews."""
    return {a.org_unit_id for a in ctx.assignments if a.role in REVIEWERS}


async def readable(ctx: Context) -> dict[int, str]:
    """The villages whose points this cadre may read, by name: a village cadre's own, a grid
    worker's village, every village under a township's or county's cadre."""
    found: dict[int, str] = {}
    for assignment in ctx.assignments:
        unit = await ctx.store.org.get(assignment.org_unit_id)
        if unit is None:
            continue
        if unit.level is Level.GRID and unit.parent_id is not None:
            parent = await ctx.store.org.get(unit.parent_id)
            units = [parent] if parent is not None else []
        elif unit.level is Level.VILLAGE:
            units = [unit]
        else:
            units = await ctx.store.org.below(unit.id)
        found.update((u.id, u.name) for u in units if u.level is Level.VILLAGE)
    return found


@router.message(
    Command("待审积分", "pending points"),
    roles=CADRE_ROLES,
    menu="menu.pending_points",
    menu_order=55,
    menu_roles=REVIEWERS,
)
async def pending(msg: InboundMessage, ctx: Context) -> Reply:
    """The claims waiting in the cadre's villages: to review for a village's cadres, to read
    for a township's or county's."""
    claims = await ctx.store.points.pending(sorted(await readable(ctx)))
    if not claims:
        return ctx.reply("points.pending_none")
    lines = [ctx.t("points.pending_title", count=len(claims))]
    for c in claims:
        claimant = await ctx.store.people.get(c.person_id)
        rule = (await rules(ctx.store, c.village_id)).rule(c.rule)
        photos = await ctx.store.points.claim_photos(c.id)
        lines.append(
            ctx.t(
                "points.pending_line",
                number=c.id,
                name=claimant.name if claimant else "",
                rule=rule.name if rule else c.rule,
                points=points_shown(rule.points) if rule else "",
                note=c.note or "—",
                links=" ".join(ctx.links.photo(p) for p in photos),
            )
        )
    lines.append(ctx.t("points.pending_hint"))
    return Reply.of_text("\n".join(lines))


@router.message(APPROVE, Numbered(APPROVE), roles=REVIEWERS)
async def approve(msg: InboundMessage, ctx: Context) -> Reply:
    """通过 12"""
    claim = await _claim_to_review(ctx, "points.cmd.approve")
    if isinstance(claim, Reply):
        return claim
    assert ctx.person is not None
    rule = (await rules(ctx.store, claim.village_id)).rule(claim.rule)
    if rule is None:
        return ctx.reply("points.rule_gone", number=claim.id)
    now = ctx.clock.now()
    entered = await credit(
        ctx.store,
        household_id=claim.household_id,
        village_id=claim.village_id,
        rule=rule,
        at=now,
        zone=ZoneInfo(ctx.settings.timezone),
        actor_id=ctx.person.id,
        note=claim.note,
        source=f"claim:{claim.id}",
    )
    claim.status, claim.reviewer_id, claim.reviewed_at = ClaimStatus.APPROVED, ctx.person.id, now
    balance = await ctx.store.points.balance(claim.household_id)
    await _tell_claimant(
        ctx,
        claim,
        "points.approved_villager",
        rule=rule.name,
        points=entered or 0,
        balance=balance,
    )
    return ctx.reply("points.approved", number=claim.id, points=entered or 0, rule=rule.name)


@router.message(REFUSE, Numbered(REFUSE), roles=REVIEWERS)
async def refuse(msg: InboundMessage, ctx: Context) -> Reply:
    """驳回 12 照片看不清"""
    _, reason = number_and_rest(ctx.args)
    if not reason:
        return ctx.reply("points.refuse_needs_reason")
    claim = await _claim_to_review(ctx, "points.cmd.refuse")
    if isinstance(claim, Reply):
        return claim
    assert ctx.person is not None
    claim.status, claim.reviewer_id = ClaimStatus.REJECTED, ctx.person.id
    claim.reviewed_at, claim.reason = ctx.clock.now(), reason[:200]
    rule = (await rules(ctx.store, claim.village_id)).rule(claim.rule)
    name = rule.name if rule else claim.rule
    await _tell_claimant(ctx, claim, "points.refused_villager", rule=name, reason=reason)
    return ctx.reply("points.refused", number=claim.id)


async def _claim_to_review(ctx: Context, command: str) -> PointClaim | Reply:
    number, _ = number_and_rest(ctx.args)
    if number is None:
        return ctx.reply("points.number_usage", command=ctx.t(command))
    claim = await ctx.store.points.get_claim(number, lock=True)
    if claim is None:
        return ctx.reply("points.no_such_claim", number=number)
    if claim.village_id not in villages(ctx):
        return ctx.reply("points.not_your_village", number=number)
    if claim.status is not ClaimStatus.PENDING:
        return ctx.reply(
            "points.already_reviewed", number=number, status=ctx.t(f"points.status.{claim.status}")
        )
    return claim


async def _tell_claimant(ctx: Context, claim: PointClaim, key: str, **values: object) -> None:
    person = await ctx.store.people.get(claim.person_id)
    if person is not None:
        await Tell.of(ctx).person(person, key, "points", number=claim.id, **values)
