"""The cadres' side of 随手拍: 接单, 转派, 退回, 升级, 办结 (with a proof photo), 查看, 我的待办.

Only cadres of the tier that holds a report may act on it (a grid worker reaches its
village's reports; whoever it is assigned to may always act). A step loads the report locked,
so two cadres acting at once act one after the other; 接单 is one conditional update, so of
two accepting at once exactly one wins.
"""

from __future__ import annotations

from datetime import datetime

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import Command, InState, KindIs, Router
from handlers.reports import lifecycle
from handlers.reports.lifecycle import (
    AWAITING_WORDS,
    Tell,
    keep_photo,
    local_time,
    number_and_rest,
    reporter_name,
)
from handlers.tell import Term
from storage.models import CADRE_ROLES, OPEN_STATUSES, Level, Report, ReportStatus

router = Router(name="reports.cadre")

AWAITING_PROOF = "reports.await_proof"  # 办结 N came without a photo: the photo may follow


@router.message(Command("接单", "accept"), roles=CADRE_ROLES, menu="menu.accept", menu_order=40)
async def accept(msg: InboundMessage, ctx: Context) -> Reply:
    number, _ = number_and_rest(ctx.args)
    report = await _open_report_in_reach(ctx, number, "report.cmd.accept", lock=False)
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
    return ctx.reply("report.accepted", number=report.id, category=report.category)


@router.message(
    Command("转派", "reassign"), roles=CADRE_ROLES, menu="menu.reassign", menu_order=43
)
async def reassign(msg: InboundMessage, ctx: Context) -> Reply:
    """转派 12 @赵网格 (or 转派 12 赵网格 3333, when two share the name): hand the report
    to another cadre of the tier or below it."""
    number, rest = number_and_rest(ctx.args)
    report = await _open_report_in_reach(ctx, number, "report.cmd.reassign")
    if isinstance(report, Reply):
        return report
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
    person, assignment = chosen[0]
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
    await tell.tier(
        report, "report.reassigned_group", mention=person.id, who=person.name, by=ctx.person.name
    )
    await tell.reporter(report, "report.reassigned_villager", role=Term(f"role.{assignment.role}"))
    return ctx.reply("report.reassigned", number=report.id, name=person.name)


@router.message(Command("退回", "reject"), roles=CADRE_ROLES, menu="menu.reject", menu_order=44)
async def reject(msg: InboundMessage, ctx: Context) -> Reply:
    """退回 12 原因: not actionable or already handled; the villager is told why."""
    number, reason = number_and_rest(ctx.args)
    report = await _open_report_in_reach(ctx, number, "report.cmd.reject")
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
    report = await _open_report_in_reach(ctx, number, "report.cmd.escalate")
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
    await tell.tier(
        report,
        "report.escalated_group",
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
    report = await _open_report_in_reach(ctx, number, "report.cmd.resolve")
    if isinstance(report, Reply):
        return report
    state = ctx.state
    photos = list(state.data.get("photos", [])) if state and state.name == AWAITING_WORDS else []
    if not photos:
        ctx.conversation.set(AWAITING_PROOF, report=report.id, note=note)
        return ctx.reply("report.resolve_needs_photo", number=report.id)
    ctx.conversation.end()
    return await _resolved(ctx, report, note, photos)


@router.message(InState(AWAITING_PROOF), KindIs(Kind.IMAGE), roles=CADRE_ROLES)
async def proof_photo(msg: InboundMessage, ctx: Context) -> Reply:
    """The photo a 办结 was waiting for."""
    assert ctx.state is not None
    name = await keep_photo(msg, ctx)
    if isinstance(name, Reply):
        return name  # the state stays: another photo may still come
    ctx.conversation.end()
    report = await _open_report_in_reach(ctx, int(ctx.state.data["report"]), "report.cmd.resolve")
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


@router.message(Command("查看", "view"), roles=CADRE_ROLES, menu="menu.view", menu_order=41)
async def view(msg: InboundMessage, ctx: Context) -> Reply:
    """The whole report: who, what, deadlines, photos (links), and its timeline."""
    number, _ = number_and_rest(ctx.args)
    report = await _report_in_reach(ctx, number, "report.cmd.view", lock=False)
    if isinstance(report, Reply):
        return report
    assignee = await ctx.store.people.get(report.assignee_id) if report.assignee_id else None
    reporters = (await ctx.store.reports.reporters([report.id]))[report.id]
    now = ctx.clock.now()
    lines = [
        ctx.t(
            "report.progress_title",
            number=report.id,
            category=report.category,
            status=ctx.t(f"report.status.{report.status}"),
        ),
        ctx.t(
            "report.view.reporter",
            name=await reporter_name(ctx, report, private=not msg.is_group),
            time=_at(ctx, report.created_at),
        ),
        ctx.t("report.view.text", text=report.text or ctx.t("report.no_words")),
    ]
    if report.place:
        lines.append(ctx.t("report.view.place", place=report.place))
    if reporters > 1:
        lines.append(ctx.t("report.view.reporters", count=reporters))
    lines += [
        ctx.t("report.view.assignee", name=assignee.name if assignee else ctx.t("report.nobody")),
        ctx.t(
            "report.view.deadlines",
            accept=_due(ctx, report.accept_due_at, report.accepted_at, now),
            resolve=_due(ctx, report.resolve_due_at, report.resolved_at, now),
        ),
    ]
    for photo in await ctx.store.reports.photos(report.id):
        key = "report.view.proof_photo" if photo.proof else "report.view.photo"
        lines.append(ctx.t(key, link=ctx.links.photo(photo.media)))
    lines.append(ctx.t("report.view.timeline"))
    for event in await ctx.store.reports.timeline(report.id):
        line = ctx.t(f"report.event.{event.kind}", time=_at(ctx, event.at))
        lines.append(f"{line}：{event.note}" if event.note else line)
    return Reply.of_text("\n".join(lines))


@router.message(Command("我的待办", "my todo"), roles=CADRE_ROLES, menu="menu.todo", menu_order=42)
async def todo(msg: InboundMessage, ctx: Context) -> Reply:
    """Open work, the most urgent deadline first."""
    assert ctx.person is not None
    units = [a.org_unit_id for a in ctx.assignments]
    reports = await ctx.store.reports.todo(ctx.person.id, units)
    if not reports:
        return ctx.reply("report.todo_empty")
    now = ctx.clock.now()
    reports = sorted(reports, key=_next_due)
    lines = [ctx.t("report.todo_title", count=len(reports))]
    for r in reports[:20]:
        lines.append(
            ctx.t(
                "report.todo_line",
                number=r.id,
                category=r.category,
                status=ctx.t(f"report.status.{r.status}"),
                due=_due(ctx, _next_due(r), None, now),
            )
        )
    return Reply.of_text("\n".join(lines))


async def _report_in_reach(
    ctx: Context, number: int | None, command: str, *, lock: bool = True
) -> Report | Reply:
    """The report named in the command, if this cadre's tier holds it; else the answer."""
    if number is None:
        return ctx.reply("report.number_usage", command=ctx.t(command))
    report = await ctx.store.reports.get(number, lock=lock)
    if report is None:
        return ctx.reply("report.no_such", number=number)
    units = {a.org_unit_id for a in ctx.assignments}
    if report.unit_id not in units and report.assignee_id != (ctx.person.id if ctx.person else 0):
        # a grid worker's unit is the grid: it reaches its own village's reports (and no
        # higher: a village cadre does not reach what went up to the township)
        grids = [u for u in [await ctx.store.org.get(i) for i in units] if u]
        villages = {u.parent_id for u in grids if u.level is Level.GRID}
        if report.unit_id not in villages:
            return ctx.reply("report.not_your_tier", number=report.id)
    return report


async def _open_report_in_reach(
    ctx: Context, number: int | None, command: str, *, lock: bool = True
) -> Report | Reply:
    report = await _report_in_reach(ctx, number, command, lock=lock)
    if isinstance(report, Report) and report.status not in OPEN_STATUSES:
        return ctx.reply(
            "report.not_open", number=report.id, status=ctx.t(f"report.status.{report.status}")
        )
    return report


def _role(ctx: Context) -> Term:
    role = next((a.role for a in ctx.assignments), None)
    return Term(f"role.{role}")


def _next_due(report: Report) -> datetime:
    return report.accept_due_at if report.accepted_at is None else report.resolve_due_at


def _at(ctx: Context, when: datetime) -> str:
    return local_time(ctx, when).strftime("%m-%d %H:%M")


def _due(ctx: Context, due: datetime, done: datetime | None, now: datetime) -> str:
    """A deadline as people read it: its local time, and whether it was missed."""
    shown = _at(ctx, due)
    if done is not None:
        return ctx.t("report.due_met" if done <= due else "report.due_missed", time=shown)
    return ctx.t("report.overdue", time=shown) if now > due else shown
