"""Villagers read their village's 三务公开: 村务公开 / 财务公开 / 党务公开 list the latest of
that kind, 三务公开 (or 公开 alone) of every kind, 公开 N shows one in full with its photos'
links; 问公开 N 问题 asks the village cadres about one (answered within 24 hours)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from handlers.disclosure.period import Period
from handlers.disclosure.publishing import kind_key, publishing_village
from handlers.points.reviewing import readable
from handlers.policy.questions import ask_cadres
from handlers.reports.lifecycle import local_time, number_and_rest
from storage.models import Disclosure, DisclosureKind, QuestionKind, Role

router = Router(name="disclosure.reading")

LATEST = 10
READERS = frozenset({Role.VILLAGER})
ALL_KINDS = tuple(DisclosureKind)
VILLAGE, FINANCE, PARTY = (
    Command("村务公开", "village affairs"),
    Command("财务公开", "finance affairs"),
    Command("党务公开", "party affairs"),
)
ALL, ONE = Command("三务公开", "disclosures"), Command("公开", "disclosure")
ASK = Command("问公开", "ask disclosure")


@dataclass(frozen=True, slots=True)
class AloneOrNumbered:
    """The command word alone (a list) or with a number (that one): 公开栏的灯坏了 is a
    report, not this."""

    command: Command

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        args = self.command.args(msg.text)
        if args is None:
            return False
        number, rest = number_and_rest(args)
        return args == "" or (number is not None and rest == "")


@router.message(
    VILLAGE,
    AloneOrNumbered(VILLAGE),
    roles=READERS,
    menu="menu.disclosure_read",
    menu_order=39,
)
async def village_affairs(msg: InboundMessage, ctx: Context) -> Reply:
    return await _list_or_show(ctx, (DisclosureKind.VILLAGE,))


@router.message(FINANCE, AloneOrNumbered(FINANCE), roles=READERS)
async def finance_affairs(msg: InboundMessage, ctx: Context) -> Reply:
    return await _list_or_show(ctx, (DisclosureKind.FINANCE,))


@router.message(PARTY, AloneOrNumbered(PARTY), roles=READERS)
async def party_affairs(msg: InboundMessage, ctx: Context) -> Reply:
    return await _list_or_show(ctx, (DisclosureKind.PARTY,))


@router.message(ALL, AloneOrNumbered(ALL), roles=READERS)
@router.message(ONE, AloneOrNumbered(ONE), roles=READERS)
async def every_kind(msg: InboundMessage, ctx: Context) -> Reply:
    return await _list_or_show(ctx, ALL_KINDS)


async def _list_or_show(ctx: Context, kinds: Collection[DisclosureKind]) -> Reply:
    number, _ = number_and_rest(ctx.args)
    if number is not None:
        return await _show(ctx, number)
    village_id = _home(ctx)
    village = await ctx.store.org.get(village_id) if village_id is not None else None
    if village is None:
        return ctx.reply("disclosure.no_village")
    found = await ctx.store.disclosures.latest(village.id, kinds, LATEST)
    one_kind = len(kinds) == 1
    what = ctx.t(kind_key(next(iter(kinds)))) if one_kind else ctx.t("disclosure.all_kinds")
    if not found:
        return ctx.reply("disclosure.list_none", village=village.name, what=what)
    lines = [ctx.t("disclosure.list_title", village=village.name, what=what)]
    for d in found:
        lines.append(
            ctx.t(
                "disclosure.list_line",
                number=d.id,
                kind=""
                if one_kind
                else ctx.t("disclosure.list_kind", kind=ctx.t(kind_key(d.kind))),
                period=_period(ctx, d),
                title=d.title,
            )
        )
    lines.append(ctx.t("disclosure.list_hint", number=found[0].id))
    return Reply.of_text("\n".join(lines))


def _home(ctx: Context) -> int | None:
    """Whose disclosures a list shows: the reader's village (a cadre's own village, if the
    registry gives them none)."""
    if ctx.person is not None and ctx.person.village_id is not None:
        return ctx.person.village_id
    return publishing_village(ctx)


async def _may_read(ctx: Context, disclosure: Disclosure) -> bool:
    """A villager reads their own village's; a cadre also those of the villages they serve."""
    if disclosure.village_id == _home(ctx):
        return True
    return disclosure.village_id in await readable(ctx)


async def _show(ctx: Context, number: int) -> Reply:
    disclosure = await ctx.store.disclosures.get(number)
    if disclosure is None or not await _may_read(ctx, disclosure):
        return ctx.reply("disclosure.no_such", number=number)
    village = await ctx.store.org.get(disclosure.village_id)
    lines = [
        ctx.t(
            "disclosure.view_title",
            kind=ctx.t(kind_key(disclosure.kind)),
            number=disclosure.id,
            title=disclosure.title,
        ),
        ctx.t(
            "disclosure.view_meta",
            village=village.name if village else "",
            period=_period(ctx, disclosure),
            date=f"{local_time(ctx, disclosure.published_at):%Y-%m-%d}",
        ),
    ]
    if disclosure.body:
        lines.append(disclosure.body)
    for i, photo in enumerate(disclosure.photos, 1):
        lines.append(ctx.t("disclosure.view_photo", number=i, link=ctx.links.photo(photo)))
    if ctx.person is not None and ctx.person.village_id == disclosure.village_id:
        lines.append(ctx.t("disclosure.view_hint", number=disclosure.id))
    return Reply.of_text("\n".join(lines))


def _period(ctx: Context, disclosure: Disclosure) -> str:
    return Period(disclosure.period_start, disclosure.period_months).shown(ctx.t)


def asks_by_number(msg: InboundMessage, ctx: Context) -> bool:
    """问公开 alone or with a number: 问公开栏谁来修 is a question of its own (问 …)."""
    args = ASK.args(msg.text)
    return args is not None and (args == "" or args.lstrip("#＃ ")[:1].isdigit())


@router.message(ASK, asks_by_number, roles=READERS)
async def ask(msg: InboundMessage, ctx: Context) -> Reply:
    """问公开 3 这笔修路钱是怎么花的: a question for the village cadres about disclosure 3."""
    number, question = number_and_rest(ctx.args)
    if number is None or not question:
        return ctx.reply("disclosure.ask_usage")
    disclosure = await ctx.store.disclosures.get(number)
    person = ctx.person
    if disclosure is None or person is None or person.village_id != disclosure.village_id:
        return ctx.reply("disclosure.no_such", number=number)
    return await ask_cadres(
        ctx,
        question,
        kind=QuestionKind.DISCLOSURE,
        disclosure_id=disclosure.id,
        about=ctx.t_for(
            None,
            "disclosure.about",
            number=disclosure.id,
            kind=ctx.t_for(None, kind_key(disclosure.kind)),
            title=disclosure.title,
        ),
    )
