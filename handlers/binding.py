"""绑定 and 我的信息: tie a chat account to a person in the registry, and show who that is."""

from __future__ import annotations

import re

from bot.context import Context
from bot.directory import PersonInfo
from bot.message import InboundMessage, Reply
from bot.router import CANCEL_WORDS, Command, InState, Router
from storage.models import Level, Role

router = Router(name="binding")

AWAITING = "binding.await_details"
# 姓名 + 手机后四位: "张三 1234", "张三1234", "张三，1234"
_DETAILS = re.compile(r"^\s*(?P<name>[^\d\s,，、:：]{1,16})[\s,，、:：]*(?P<digits>\d{4})\s*$")


@router.message(Command("绑定", "bind"), roles={Role.GUEST}, menu="menu.bind", menu_order=10)
async def bind(msg: InboundMessage, ctx: Context) -> Reply:
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
    people = await ctx.store.people.matching(found["name"], found["digits"])
    if len(people) != 1:
        ctx.conversation.end()
        if len(people) > 1:
            return ctx.reply("bind.ambiguous")
        return await _failure(msg, ctx)
    person = people[0]
    if await ctx.store.identities.of_person(person.id, msg.channel) is not None:
        ctx.conversation.end()
        return ctx.reply("bind.taken")
    await ctx.store.identities.bind(
        msg.channel, msg.sender_id, person.id, by="self", at=ctx.clock.now()
    )
    await ctx.kv.delete(ctx.kv.keys.bind_failures(msg.channel, msg.sender_id))
    ctx.conversation.end()
    ctx.conversation.sender_changed = True
    return ctx.reply("bind.ok", name=person.name)


async def _failure(msg: InboundMessage, ctx: Context) -> Reply:
    key = ctx.kv.keys.bind_failures(msg.channel, msg.sender_id)
    count = await ctx.kv.incr(key, ctx.settings.bind_lock_seconds)
    left = ctx.settings.bind_max_failures - count
    if left <= 0:
        return ctx.reply("bind.locked")
    return ctx.reply("bind.no_match", left=left)


@router.message(
    Command("我的信息", "我的资料", "my info"),
    roles={Role.VILLAGER},
    menu="menu.profile",
    menu_order=20,
)
async def profile(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.person is not None
    person = ctx.person
    lines = [ctx.t("profile.name", name=person.name)]
    if person.phone_masked:
        lines.append(ctx.t("profile.phone", phone=person.phone_masked))
    place = await _place(ctx, person)
    if place:
        lines.append(ctx.t("profile.place", place=place))
    for assignment in ctx.assignments:
        unit = await ctx.store.org.get(assignment.org_unit_id)
        lines.append(
            ctx.t(
                "profile.role",
                role=ctx.t(f"role.{assignment.role}"),
                unit=unit.name if unit else "",
            )
        )
    if person.is_elder:
        lines.append(ctx.t("profile.elder"))
    return Reply.of_text("\n".join(lines))


async def _place(ctx: Context, person: PersonInfo) -> str:
    """Township · village · grid, from the most specific unit the person belongs to."""
    unit_id = person.grid_id or person.village_id
    if unit_id is None:
        return ""
    chain = await ctx.store.org.lineage(unit_id)
    shown = [u.name for u in reversed(chain) if u.level is not Level.COUNTY]
    return " · ".join(shown)
