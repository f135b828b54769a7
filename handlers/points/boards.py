"""The monthly 红榜 and 黑榜. On the 1st the `points-boards` sweep drafts last month's for each
village (the ten households that earned most; deductions only under rules marked for the
黑榜) and puts the draft in the village's cadre group; nothing reaches villagers until a
village cadre sends it to the residents' groups (发布榜单), after taking out any line that
should not be shown (撤下 N). Villagers read the latest published board (积分榜)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.context import Context
from bot.message import InboundMessage, Push, Reply
from bot.router import Command, Router
from handlers.points.ledger import points_shown
from handlers.points.reviewing import REVIEWERS, villages
from handlers.points.rules import Book, in_village, rules
from handlers.tell import Tell
from storage.models import OPENING, REDEEM, BoardStatus, ChatPurpose, OrgUnit, PointBoard, Role

router = Router(name="points.boards")
RED_SIZE = 10
Words = Callable[..., str]  # (key, **values) -> text


async def draft_boards(
    tell: Tell, villages: Sequence[OrgUnit], since: datetime, until: datetime, now: datetime
) -> int:
    """Draft the month [since, until) of each village not drafted yet and with anything to
    show, into its cadre groups. Returns how many were drafted."""
    store = tell.store
    month = since.strftime("%Y-%m")
    done = await store.boards.drafted([v.id for v in villages], month)
    todo = [v for v in villages if v.id not in done]
    if not todo:
        return 0
    ids = [v.id for v in todo]
    earned = await store.boards.earned(ids, since, until, [REDEEM, OPENING], RED_SIZE)
    changes = await store.points.rule_changes()
    books = {v: in_village(changes, v) for v in ids}
    public = sorted(
        {r.code for b in books.values() for r in b.rules if r.black_board and r.points < 0}
    )
    lost = await store.boards.deducted(ids, since, until, public)
    shown = {h for v in ids for h, _ in earned.get(v, [])[:RED_SIZE]}
    shown |= {h for v in ids for h, _, _ in lost.get(v, [])}
    names = await store.boards.names(sorted(shown))
    boards = {}
    for village in todo:
        lines = [
            {"board": "red", "household": h, "name": names.get(h, ""), "points": p}
            for h, p in earned.get(village.id, [])[:RED_SIZE]
        ]
        lines += [
            {"board": "black", "household": h, "name": names.get(h, ""), "points": p, "rule": r}
            for h, r, p in lost.get(village.id, [])
            if _public(books[village.id], r)
        ]
        if lines:
            boards[village.id] = PointBoard(
                village_id=village.id,
                month=month,
                lines=lines,
                status=BoardStatus.DRAFT,
                made_at=now,
            )
    kept = await store.boards.draft(list(boards.values()))  # a twin run's stay theirs
    names_of = {v.id: v.name for v in todo}
    words: Words = lambda key, **v: tell.text(None, key, **v)  # noqa: E731
    for group in await store.chats.of_units(kept, (ChatPurpose.CADRES,)):
        board = board_text(
            words,
            books[group.org_unit_id],
            names_of[group.org_unit_id],
            boards[group.org_unit_id],
            True,
        )
        text = words("points.board_draft", board=board)
        push = Push(
            channel=group.channel,
            chat_id=group.external_id,
            is_group=True,
            reply=Reply.of_text(text),
        )
        tell.push(push, "points")
    return len(kept)


def _public(book: Book, code: str) -> bool:
    rule = book.rule(code)
    return rule is not None and rule.black_board


def board_text(words: Words, book: Book, village: str, board: PointBoard, numbered: bool) -> str:
    """The board as a message: its title, the 红榜 and (if any) the 黑榜; `numbered`: every
    line numbered for 撤下 N (the cadres' draft)."""
    month = int(board.month[5:])
    out = [words("points.board_title", village=village, month=month)]
    for kind in ("red", "black"):
        lines = [(i, line) for i, line in enumerate(board.lines, 1) if line["board"] == kind]
        if not lines:
            continue
        out.append(words(f"points.board_{kind}"))
        for place, (i, line) in enumerate(lines, 1):
            rule = book.rule(str(line.get("rule", "")))
            out.append(
                words(
                    "points.board_line",
                    number=i if numbered else place,
                    name=line["name"],
                    points=points_shown(int(line["points"])),
                    rule=f"（{rule.name}）" if rule else "",
                )
            )
    return "\n".join(out)


@router.message(
    Command("发布榜单", "publish board"), roles=REVIEWERS, menu="menu.publish_board", menu_order=56
)
async def publish(msg: InboundMessage, ctx: Context) -> Reply:
    draft = await _draft(ctx)
    if isinstance(draft, Reply):
        return draft
    assert ctx.person is not None
    village = await ctx.store.org.get(draft.village_id)
    draft.status = BoardStatus.PUBLISHED
    draft.published_at, draft.published_by = ctx.clock.now(), ctx.person.id
    text = board_text(
        lambda k, **v: ctx.t_for(None, k, **v),
        await rules(ctx.store, draft.village_id),
        village.name if village else "",
        draft,
        numbered=False,
    )
    groups = await Tell.of(ctx).groups(
        draft.village_id,
        "points.board",
        purpose="points",
        chats=(ChatPurpose.RESIDENTS,),
        board=text,
    )
    return ctx.reply("points.board_sent", month=int(draft.month[5:]), groups=groups)


@router.message(Command("撤下", "withdraw line"), roles=REVIEWERS)
async def withdraw(msg: InboundMessage, ctx: Context) -> Reply:
    """撤下 3: the draft's line 3 is not to be shown."""
    draft = await _draft(ctx)
    if isinstance(draft, Reply):
        return draft
    number = ctx.args.strip().lstrip("#＃")
    if not number.isdigit() or not 1 <= int(number) <= len(draft.lines):
        return ctx.reply("points.withdraw_usage", most=len(draft.lines))
    draft.lines = [line for i, line in enumerate(draft.lines, 1) if i != int(number)]
    village = await ctx.store.org.get(draft.village_id)
    book = await rules(ctx.store, draft.village_id)
    text = board_text(ctx.t, book, village.name if village else "", draft, True)
    return ctx.reply("points.withdrawn", number=number, board=text)


@router.message(
    Command("积分榜", "points board"),
    roles={Role.VILLAGER},
    menu="menu.points_board",
    menu_order=38,
)
async def read_board(msg: InboundMessage, ctx: Context) -> Reply:
    village_id = ctx.person.village_id if ctx.person else None
    board = (
        await ctx.store.boards.latest(village_id, BoardStatus.PUBLISHED) if village_id else None
    )
    if board is None:
        return ctx.reply("points.no_board")
    village = await ctx.store.org.get(board.village_id)
    book = await rules(ctx.store, board.village_id)
    return Reply.of_text(board_text(ctx.t, book, village.name if village else "", board, False))


async def _draft(ctx: Context) -> PointBoard | Reply:
    own = sorted(villages(ctx))
    for village_id in own:
        draft = await ctx.store.boards.latest(village_id, BoardStatus.DRAFT)
        if draft is not None:
            return draft
    return ctx.reply("points.no_draft")
