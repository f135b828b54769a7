"""The cadres' side of 随手拍: 接单, 转派, 退回, 升级, 办结 (with a proof photo), 查看, 我的待办.

Who may read and who may act is handlers/reports/access.py. A step loads the report locked,
so two cadres acting at once act one after the other; 接单 is one conditional update, so of
two accepting at once exactly one wins.
"""

from __future__ import annotations

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import CANCEL_WORDS, Command, InState, KindIs, Router
from handlers.reports import lifecycle
from handlers.reports.access import open_report_to_act_on
from handlers.reports.lifecycle import (
    AWAITING_WORDS,
    Tell,
    category_shown,
    keep_photo,
    number_and_rest,
)
from handlers.tell import Term
from storage.models import CADRE_ROLES, Person, Report, ReportStatus, RoleAssignment

router = Router(name="reports.cadre")

AWAITING_PROOF = "reports.await_proof"  # 办结 N came without a photo: the photo may follow


@router.message(Command("接单", "accept"), roles=CADRE_ROLES, menu="menu.accept", menu_order=40)
async def accept(msg: InboundMessage, ctx: Context) -> Reply:
    number, _ = number_and_rest(ctx.args)
    report = await open_report_to_act_on(ctx, number, "report.cmd.accept", lock=False)
    if isinstance(report, Reply):
        return report
    assert ctx.person is not None
    now = ctx.clock.now()
    if not await ctx.store.reports.take(report.id, ctx.person.id, now):
        await ctx.store.session.refresh(report)
        holder = await ctx.store.people.get(report.assignee_id) if report.assignee_id else None
        if holder is not None and holder.id == ctx.person.id:
            return ctx.reply("report.accept_yours", number=report.id)
        return ctx.reply(
            "report.accept_taken",
            number=report.id,
            who=holder.name if holder is not None else "",
            status=ctx.t(f"report.status.{report.status}"),
        )
    await ctx.store.session.refresh(report)
    await ctx.store.reports.event(report, "accepted", at=now, actor_id=ctx.person.id)
    await Tell.of(ctx).reporter(
        report, "report.accepted_villager", followers="report.accepted_villager", role=_role(ctx)
    )
    return ctx.reply(
        "report.accepted", number=report.id, category=category_shown(ctx.t, report.category)
    )


@router.message(
    Command("转派", "reassign"), roles=CADRE_ROLES, menu="menu.reassign", menu_order=43
)
async def reassign(msg: InboundMessage, ctx: Context) -> Reply:
    """转派 12 @赵网格 (or 转派 12 赵网格 3333, when two share the name): hand the report
    to another cadre of the tier or below it."""
    number, rest = number_and_rest(ctx.args)
    report = await open_report_to_act_on(ctx, number, "report.cmd.reassign")
    if isinstance(report, Reply):
        return report
    chosen = await _cadre_named(ctx, report, rest)
    if isinstance(chosen, Reply):
        return chosen
    person, assignment = chosen
    if person.id == report.assignee_id:
        return ctx.reply("report.reassign_same", number=report.id, name=person.name)
    assert ctx.person is not None
    report.assignee_id = person.id
    await ctx.store.reports.event(
        report,
        "reassigned",
        at=ctx.clock.now(),
        actor_id=ctx.person.id,
        note=person.name,
        status=ReportStatus.ASSIGNED,
    )
    tell = Tell.of(ctx)
    who, by = person.name, ctx.person.name
    await tell.tier(report, "report.reassigned_group", mention=(person.id,), who=who, by=by)
    await tell.reporter(report, "report.reassigned_villager", role=Term(f"role.{assignment.role}"))
    return ctx.reply("report.reassigned", number=report.id, name=person.name)


async def _cadre_named(
    ctx: Context, report: Report, rest: str
) -> tuple[Person, RoleAssignment] | Reply:
    """The cadre of the tier or below it that `赵网格` (or `王秀英 8888`) names; else the
    answer: who can take it, or which of two of that name."""
    name, _, last4 = rest.lstrip("@＠").strip().partition(" ")
    if not name:
        return ctx.reply("report.reassign_usage")
    units = [report.unit_id, *(u.id for u in await ctx.store.org.below(report.unit_id))]
    cadres = await ctx.store.reports.cadres(units)
    named = {p.id: (p, a) for p, a in cadres if p.name == name}
    chosen = [(p, a) for p, a in named.values() if not last4 or p.phone_last4 == last4.strip()]
    if not chosen:
        names = "、".join(dict.fromkeys(p.name for p, _ in cadres)) or ctx.t("report.nobody")
        return ctx.reply("report.reassign_unknown", name=name, names=names)
    if len(chosen) > 1:  # two cadres of the same name: the last digits of the phone tell
        return ctx.reply(
            "report.reassign_which",
            number=report.id,
            name=name,
            last4="、".join(p.phone_last4 for p, _ in chosen),
            example=chosen[0][0].phone_last4,
        )
    return chosen[0]


@router.message(Command("退回", "reject"), roles=CADRE_ROLES, menu="menu.reject", menu_order=44)
async def reject(msg: InboundMessage, ctx: Context) -> Reply:
    """退回 12 原因: not actionable or already handled; the villager is told why."""
    number, reason = number_and_rest(ctx.args)
    report = await open_report_to_act_on(ctx, number, "report.cmd.reject")
    if isinstance(report, Reply):
        return report
    if not reason:
        return ctx.reply("report.reason_usage", command=ctx.t("report.cmd.reject"))
    assert ctx.person is not None
    now = ctx.clock.now()
    report.closed_at = now
    await ctx.store.reports.event(
        report,
        "rejected",
        at=now,
        actor_id=ctx.person.id,
        note=reason,
        status=ReportStatus.REJECTED,
    )
    tell = Tell.of(ctx)
    await tell.reporter(
        report, "report.rejected_villager", followers="report.rejected_villager", reason=reason
    )
    await tell.tier(report, "report.rejected_group", who=ctx.person.name, reason=reason)
    return ctx.reply("report.rejected", number=report.id)


@router.message(
    Command("升级", "escalate"), roles=CADRE_ROLES, menu="menu.escalate", menu_order=45
)
async def escalate(msg: InboundMessage, ctx: Context) -> Reply:
    """升级 12 原因: beyond this tier; the next one up (village -> township -> county) holds
    it from now on, and its cadres are told in their group."""
    number, reason = number_and_rest(ctx.args)
    report = await open_report_to_act_on(ctx, number, "report.cmd.escalate")
    if isinstance(report, Reply):
        return report
    if not reason:
        return ctx.reply("report.reason_usage", command=ctx.t("report.cmd.escalate"))
    assert ctx.person is not None
    tell = Tell.of(ctx)
    moved = await lifecycle.escalate(
        tell, report, ctx.clock.now(), actor_id=ctx.person.id, reason=reason
    )
    if moved is None:
        return ctx.reply("report.escalate_top", number=report.id)
    actors = await tell.actors(report)
    await tell.tier(
        report,
        "report.escalated_group",
        mention=actors.mention,
        who=actors.who,
        source=moved.source.name,
        by=ctx.person.name,
        reason=reason,
        text=report.text or ctx.t_for(None, "report.no_words"),
        reporter=await tell.reporter_shown(report),
    )
    parent = moved.target
    if not await ctx.store.reports.cadre_groups(parent.id):
        return ctx.reply("report.escalated_no_group", number=report.id, unit=parent.name)
    return ctx.reply("report.escalated", number=report.id, unit=parent.name)


@router.message(Command("办结", "resolve"), roles=CADRE_ROLES, menu="menu.resolve", menu_order=46)
async def resolve(msg: InboundMessage, ctx: Context) -> Reply:
    """办结 12 说明, with a photo of the fix: sent just before, or just after."""
    number, note = number_and_rest(ctx.args)
    report = await open_report_to_act_on(ctx, number, "report.cmd.resolve")
    if isinstance(report, Reply):
        return report
    state = ctx.state
    photos = list(state.data.get("photos", [])) if state and state.name == AWAITING_WORDS else []
    if not photos:
        ctx.conversation.set(AWAITING_PROOF, report=report.id, note=note)
        return ctx.reply("report.resolve_needs_photo", number=report.id)
    ctx.conversation.end()
    return await _resolved(ctx, report, note, photos)


@router.message(Command(*CANCEL_WORDS), InState(AWAITING_PROOF))
async def cancel_resolve(msg: InboundMessage, ctx: Context) -> Reply:
    ctx.conversation.end()
    return ctx.reply(
        "report.resolve_cancelled", number=int(ctx.state.data["report"]) if ctx.state else ""
    )


@router.message(InState(AWAITING_PROOF), KindIs(Kind.IMAGE), roles=CADRE_ROLES)
async def proof_photo(msg: InboundMessage, ctx: Context) -> Reply:
    """The photo a 办结 was waiting for."""
    assert ctx.state is not None
    name = await keep_photo(msg, ctx)
    if isinstance(name, Reply):
        return name  # the state stays: another photo may still come
    ctx.conversation.end()
    report = await open_report_to_act_on(ctx, int(ctx.state.data["report"]), "report.cmd.resolve")
    if isinstance(report, Reply):
        return report
    return await _resolved(ctx, report, str(ctx.state.data.get("note", "")), [name])


async def _resolved(ctx: Context, report: Report, note: str, photos: list[str]) -> Reply:
    assert ctx.person is not None
    now = ctx.clock.now()
    report.resolved_at = now
    report.accepted_at = report.accepted_at or now  # fixed without a 接单 first
    report.assignee_id = report.assignee_id or ctx.person.id
    event = await ctx.store.reports.event(
        report, "resolved", at=now, actor_id=ctx.person.id, note=note, status=ReportStatus.RESOLVED
    )
    for name in photos:
        ctx.store.reports.photo(report, name, event=event, proof=True)
    tell = Tell.of(ctx)
    await tell.reporter(
        report,
        "report.resolved_villager",
        followers="report.resolved_follower",
        note=note or Term("report.no_note"),
        link=ctx.links.photo(photos[0]),
        days=ctx.settings.report_auto_close_days,
    )
    await tell.tier(report, "report.resolved_group", who=ctx.person.name, note=note or "—")
    return ctx.reply("report.resolved", number=report.id)


def _role(ctx: Context) -> Term:
    role = next((a.role for a in ctx.assignments), None)
    return Term(f"role.{role}")
