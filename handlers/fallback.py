"""Last in line: an addressed message no feature took gets a pointer to the menu, worded for
what it reads as (a greeting gets a greeting; a question a place to ask); one the bot cannot
open (a video, a file) says so and what would get through."""

from __future__ import annotations

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import KindIs, Router
from understanding import Intent

router = Router(name="fallback")


@router.message(KindIs(Kind.TEXT, Kind.VOICE))
async def not_understood(msg: InboundMessage, ctx: Context) -> Reply | None:
    if not msg.text.strip():
        return ctx.reply("fallback.empty_voice") if msg.kind is Kind.VOICE else None
    await ctx.understanding.ready()
    intent = ctx.understanding.read(msg.text).intent
    if intent in (Intent.CHAT, Intent.CHECKIN):
        return ctx.reply("fallback.chat")
    if intent in (Intent.QUESTION, Intent.POLICY, Intent.POINTS):
        return ctx.reply("fallback.question")
    return ctx.reply("fallback.unknown")


@router.message(KindIs(Kind.IMAGE, Kind.LOCATION))
async def not_yet(msg: InboundMessage, ctx: Context) -> Reply:
    return ctx.reply("fallback.unsupported")


@router.message(KindIs(Kind.OTHER))
async def cannot_open(msg: InboundMessage, ctx: Context) -> Reply:
    """A video, a file, a link card: say so, and what would get through, rather than leave
    the sender (an elder filming a broken road) hearing nothing."""
    return ctx.reply("fallback.cannot_open")
