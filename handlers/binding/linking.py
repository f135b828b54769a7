"""绑定: a guest ties their account to a person in the registry by name and the last four
phone digits, in one line or step by step. Failed guesses lock out the account after a few
(per sender), and are counted per person guessed at (guard.py): past a few at one person,
from whatever accounts, a right answer waits for the person's village."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import CANCEL_WORDS, Command, InState, Router
from handlers.binding import guard
from storage.models import Person, Role

router = Router(name="binding.linking")

AWAITING = "binding.await_details"
# 姓名 + 手机后四位: "张三 1234", "张三1234", "张三，1234"
_DETAILS = re.compile(r"^\s*(?P<name>[^\d\s,，、:：]{1,16})[\s,，、:：]*(?P<digits>\d{4})\s*$")


@router.message(Command("绑定", "bind"), roles={Role.GUEST}, menu="menu.bind", menu_order=10)
async def bind(msg: InboundMessage, ctx: Context) -> Reply:
    if ctx.kv.degraded:  # the guesses could not be counted: no binding until they can
        return ctx.reply("bind.later")
    if await _locked(ctx, msg):
        return ctx.reply("bind.locked")
    if not ctx.args:
        ctx.conversation.set(AWAITING)
        return ctx.reply("bind.prompt")
    return await _try_bind(msg, ctx, ctx.args)


@router.message(Command(*CANCEL_WORDS), InState(AWAITING))
async def cancel(msg: InboundMessage, ctx: Context) -> Reply:
    ctx.conversation.end()
    return ctx.reply("bind.cancelled")


@router.message(InState(AWAITING), roles={Role.GUEST})
async def details(msg: InboundMessage, ctx: Context) -> Reply:
    if ctx.kv.degraded:
        ctx.conversation.end()
        return ctx.reply("bind.later")
    if await _locked(ctx, msg):
        ctx.conversation.end()
        return ctx.reply("bind.locked")
    return await _try_bind(msg, ctx, msg.text)


@router.message(Command("绑定", "bind"), roles={Role.VILLAGER})
async def already_bound(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.person is not None
    return ctx.reply("bind.already", name=ctx.person.name)


async def _locked(ctx: Context, msg: InboundMessage) -> bool:
    failures = await ctx.kv.get(ctx.kv.keys.bind_failures(msg.channel, msg.sender_id))
    return failures is not None and int(failures) >= ctx.settings.bind_max_failures


async def _try_bind(msg: InboundMessage, ctx: Context, text: str) -> Reply:
    found = _DETAILS.match(text)
    if found is None:
        ctx.conversation.set(AWAITING)
        return ctx.reply("bind.format")
    ctx.conversation.end()
    # The guess is at everyone of that name; the digits pick out whom, when they are right.
    named = await ctx.store.people.named(found["name"])
    chosen = [p for p in named if p.phone_last4 == found["digits"]]
    if len(chosen) > 1:
        return ctx.reply("bind.ambiguous")
    person = chosen[0] if chosen else None
    if person is not None and await ctx.store.identities.of_person(person.id, msg.channel):
        return ctx.reply("bind.taken")
    failures = await guard.failures_at(ctx.kv, named)
    if failures >= guard.TARGET_MAX_FAILURES:
        return await _held(msg, ctx, named, person, failures)
    if person is None:
        return await _failure(msg, ctx, named)
    await ctx.store.identities.bind(
        msg.channel, msg.sender_id, person.id, by="self", at=ctx.clock.now()
    )
    await ctx.kv.delete(ctx.kv.keys.bind_failures(msg.channel, msg.sender_id))
    ctx.conversation.sender_changed = True
    return ctx.reply("bind.ok", name=person.name)


async def _failure(msg: InboundMessage, ctx: Context, named: Sequence[Person]) -> Reply:
    await guard.record_failure(ctx.kv, msg, named)
    count = await _count_try(ctx, msg)
    left = ctx.settings.bind_max_failures - count
    if left <= 0:
        return ctx.reply("bind.locked")
    return ctx.reply("bind.no_match", left=left)


async def _held(
    msg: InboundMessage,
    ctx: Context,
    named: Sequence[Person],
    person: Person | None,
    failures: int,
) -> Reply:
    """A guess at a guarded person. Right or wrong, it gets the same answer and counts
    against the account: the answer must not tell a guesser the digits were right. Only a
    right one reaches the village."""
    await _count_try(ctx, msg)
    if person is None:
        await guard.record_failure(ctx.kv, msg, named)
    else:
        await guard.ask_village(ctx, msg, person, failures)
    return ctx.reply("bind.held", name=named[0].name)


async def _count_try(ctx: Context, msg: InboundMessage) -> int:
    key = ctx.kv.keys.bind_failures(msg.channel, msg.sender_id)
    return await ctx.kv.incr(key, ctx.settings.bind_lock_seconds)
