"""批准绑定 N / 拒绝绑定 N: a binding held after many failed guesses (guard.py) is decided by
the cadres of the person's village, who first ask the person. Approval binds the account
and tells it so; refusal tells it to ask the village, and locks it out for a while. The
village's cadre groups hear either way, so that nobody decides twice."""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.context import Context
from bot.message import InboundMessage, Push, Reply
from bot.router import Command, Router
from handlers.binding import guard
from handlers.binding.guard import BindRequest
from handlers.tell import Tell
from storage.models import Person, Role

log = logging.getLogger(__name__)
router = Router(name="binding.review")

# who decides: the cadres of the person's village, not a grid worker alone nor the township
APPROVERS = frozenset({Role.VILLAGE_SECRETARY, Role.VILLAGE_CADRE})
_NUMBER = re.compile(r"^[#＃]?\s*(\d{1,9})(?!\d)")  # "3", "#3", "3 是本人"


@router.message(
    Command("批准绑定", "approve binding"),
    roles=APPROVERS,
    menu="menu.bind_review",
    menu_order=62,
)
async def approve(msg: InboundMessage, ctx: Context) -> Reply:
    """批准绑定 3"""
    found = await _request_to_decide(ctx, "bind.cmd.approve")
    if isinstance(found, Reply):
        return found
    request, person = found
    await guard.close(ctx.kv, request)
    store = ctx.store
    if await store.identities.of_person(person.id, request.channel) is not None or (
        await store.identities.person_for(request.channel, request.sender_id) is not None
    ):
        return ctx.reply("bind.review_moot", number=request.number, name=person.name)
    await store.identities.bind(
        request.channel, request.sender_id, person.id, by="cadre", at=ctx.clock.now()
    )
    kv = ctx.kv
    await kv.delete(kv.keys.bind_failures(request.channel, request.sender_id))
    # The account's cached lookup still says guest; dropped now, it is read again bound.
    await kv.delete(kv.keys.sender(request.channel, request.sender_id))
    _tell_account(ctx, request, person.locale, "bind.approved_villager", name=person.name)
    await _tell_village(ctx, request, "bind.approved_group", name=person.name)
    log.info("binding request %d approved by person %d", request.number, _decider(ctx))
    return ctx.reply("bind.approved", number=request.number, name=person.name)


@router.message(Command("拒绝绑定", "refuse binding"), roles=APPROVERS)
async def refuse(msg: InboundMessage, ctx: Context) -> Reply:
    """拒绝绑定 3"""
    found = await _request_to_decide(ctx, "bind.cmd.refuse")
    if isinstance(found, Reply):
        return found
    request, person = found
    await guard.close(ctx.kv, request)
    # the account may not go straight back to guessing: locked out as after failed tries
    key = ctx.kv.keys.bind_failures(request.channel, request.sender_id)
    limit, window = ctx.settings.bind_max_failures, ctx.settings.bind_lock_seconds
    await ctx.kv.set(key, str(limit), window)
    _tell_account(ctx, request, None, "bind.refused_villager")
    await _tell_village(ctx, request, "bind.refused_group", name=person.name)
    log.info("binding request %d refused by person %d", request.number, _decider(ctx))
    return ctx.reply("bind.refused", number=request.number, name=person.name)


async def _request_to_decide(ctx: Context, command: str) -> tuple[BindRequest, Person] | Reply:
    """The waiting request the command names, if it is for this cadre's village; else the
    answer."""
    found = _NUMBER.match(ctx.args)
    if found is None:
        return ctx.reply("bind.review_usage", command=ctx.t(command))
    number = int(found[1])
    request = await guard.load(ctx.kv, number)
    person = await ctx.store.people.get(request.person_id) if request is not None else None
    if request is None or person is None:
        return ctx.reply("bind.review_none", number=number)
    villages = {a.org_unit_id for a in ctx.assignments if a.role in APPROVERS}
    if request.village_id not in villages:
        return ctx.reply("bind.review_not_yours", number=number)
    return request, person


def _tell_account(
    ctx: Context, request: BindRequest, locale: str | None, key: str, **values: Any
) -> None:
    """1:1 to the account that asked: it is not (yet) anyone's first account."""
    text = ctx.t_for(locale, key, **values)
    push = Push(
        channel=request.channel,
        chat_id=request.sender_id,
        is_group=False,
        reply=Reply.of_text(text),
    )
    ctx.push(push, guard.PURPOSE)


async def _tell_village(ctx: Context, request: BindRequest, key: str, **values: Any) -> None:
    """The village's cadre groups; in the group the command was sent in, this is its answer."""
    await Tell.of(ctx).groups(
        request.village_id,
        key,
        purpose=guard.PURPOSE,
        number=request.number,
        cadre=ctx.person.name if ctx.person is not None else "",
        **values,
    )


def _decider(ctx: Context) -> int:
    return ctx.person.id if ctx.person is not None else 0
