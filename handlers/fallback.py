"""Last in line: an addressed message no feature took gets a pointer to the menu."""

from __future__ import annotations

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import KindIs, Router

router = Router(name="fallback")


@router.message(KindIs(Kind.TEXT, Kind.VOICE), fallback=True)
async def not_understood(msg: InboundMessage, ctx: Context) -> Reply | None:
    if not msg.text.strip():
        return ctx.reply("fallback.empty_voice") if msg.kind is Kind.VOICE else None
    return ctx.reply("fallback.unknown")


@router.message(KindIs(Kind.IMAGE, Kind.LOCATION), fallback=True)
async def not_yet(msg: InboundMessage, ctx: Context) -> Reply:
    return ctx.reply("fallback.unsupported")
