"""帮助/菜单: what the bot can do for this person, and the welcome on subscribing."""

from __future__ import annotations

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, EventIs, Router
from storage.models import CADRE_ROLES, Role

router = Router(name="help")

HELP_WORDS = ("帮助", "菜单", "help", "menu", "?", "？")


def menu_text(ctx: Context) -> str:
    lines = [ctx.t(entry.key) for entry in ctx.menu.menu_for(ctx.roles)]
    if Role.GUEST in ctx.roles:
        title = ctx.t("help.title.guest")
    elif ctx.roles & CADRE_ROLES:
        title = ctx.t("help.title.cadre", name=ctx.person.name if ctx.person else "")
    else:
        title = ctx.t("help.title.villager", name=ctx.person.name if ctx.person else "")
    return "\n".join([title, *lines, ctx.t("help.footer")])


@router.message(Command(*HELP_WORDS), menu="menu.help", menu_order=0)
async def show_menu(msg: InboundMessage, ctx: Context) -> Reply:
    return Reply.of_text(menu_text(ctx))


@router.message(EventIs("subscribe", "subscribe_scan", "enter_chat"))  # enter_chat: WeCom's robot
async def welcome(msg: InboundMessage, ctx: Context) -> Reply:
    return Reply.of_text(ctx.t("help.welcome") + "\n" + menu_text(ctx))
