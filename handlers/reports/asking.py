"""When the bot is not sure: a message that may be a problem, or one whose category is
unclear, gets one short question (要把这件事报给村里吗？回复 1 报为【道路交通】，
2 报为【水利设施】，3 其他类别，取消 不报), and the villager's answer makes the report,
or not."""

from __future__ import annotations

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import CANCEL_WORDS, Command, InState, KindIs, Router
from handlers.reports.lifecycle import category_shown
from handlers.reports.making import submit
from storage.models import Role
from understanding import OTHER, Reading

router = Router(name="reports.asking")

CONFIRM = "reports.confirm"  # asked whether (and as what) to report: the answer may follow
NO_WORDS = ("不", "不报", "不用", "不用了", "算了", "no")


def ask(ctx: Context, text: str, reading: Reading) -> Reply:
    """Ask whether to report `text`, offering its two likeliest categories."""
    choices = [c for c in reading.likely if c != OTHER][:2]
    ctx.conversation.set(CONFIRM, text=text, choices=choices)
    return ctx.reply("report.ask", options=_options(ctx, choices), other=len(choices) + 1)


def _options(ctx: Context, choices: list[str]) -> str:
    return ctx.t("list.sep").join(
        ctx.t("report.ask_option", n=n, category=category_shown(ctx.t, name))
        for n, name in enumerate(choices, 1)
    )


@router.message(Command(*CANCEL_WORDS), InState(CONFIRM))
async def not_reported(msg: InboundMessage, ctx: Context) -> Reply:
    ctx.conversation.end()
    return ctx.reply("report.ask_cancelled")


@router.message(InState(CONFIRM), KindIs(Kind.TEXT, Kind.VOICE), roles={Role.VILLAGER})
async def answer(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.state is not None
    choices = [str(c) for c in ctx.state.data.get("choices", [])]
    said = msg.text.strip().rstrip("。.!！")
    if said.lower() in NO_WORDS:
        ctx.conversation.end()
        return ctx.reply("report.ask_cancelled")
    number = int(said) if said.isdigit() else 0
    if not 1 <= number <= len(choices) + 1:
        ctx.conversation.set(CONFIRM, **ctx.state.data)  # asked again, the wait afresh
        return ctx.reply(
            "report.ask_again", options=_options(ctx, choices), other=len(choices) + 1
        )
    ctx.conversation.end()
    category = choices[number - 1] if number <= len(choices) else OTHER
    text = str(ctx.state.data.get("text", ""))
    return await submit(msg, ctx, text, [], None, "", category=category)
