"""政策咨询: a villager asks in their own words (or `问 …`) and gets the knowledge base's
answer: the entry itself when it is clear, the three likeliest to choose from by number
when it is close, and otherwise the question goes to the village's cadres (a farming one
to the township's technician) to be answered within 24 hours. An answer ends with
`有用请回复 1，没解决回复 2`; a 2 makes the question one for the cadres too."""

from __future__ import annotations

from bot.context import Context
from bot.message import InboundMessage, Kind, Reply
from bot.router import CANCEL_WORDS, Command, InState, KindIs, Router
from handlers.policy import questions
from handlers.policy.index import find, names_policy
from handlers.policy.questions import ask_cadres
from handlers.reports.asking import ask as ask_to_report
from storage.models import KbEntry, QuestionKind, Role
from understanding import Intent
from understanding.fields import marks
from understanding.model import prepared

router = Router(name="policy")
router.include_router(questions.router)

FEEDBACK, CHOOSE = "policy.feedback", "policy.choose"
USEFUL = ("1", "有用", "有用了", "好", "好的", "谢谢", "解决了")
UNSOLVED = ("2", "没解决", "没用", "没有用", "不对", "莫得用")
QUESTION_ENDINGS = ("?", "？", "吗", "呢", "么", "嘛", "不", "没得", "没有", "莫得", "没")
FARMING = frozenset({"¶farming", "¶livestock"})


class AsksPolicy:
    """A message the understanding reads as a question (on policy, or any other for the
    village); or any other that asks about a policy (屋顶漏雨了有没有补助？ read as a
    report, 老汉儿当过兵有啥子照顾没得 as chit-chat): a report that names a policy
    without asking stays a report."""

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        text = msg.text.strip()
        if not text:
            return False
        reading = ctx.understanding.read(text)
        if reading.intent in (Intent.POLICY, Intent.QUESTION):
            return True  # 停水了吗？ the knowledge base has no answer to: the reports ask
        if reading.intent in (Intent.SOS, Intent.CHECKIN):
            return False
        found = marks(prepared(text))
        policy = "¶policy" in found or names_policy(ctx.understanding, text)
        asks = "¶asking" in found or text.rstrip("。.!！~～ ").endswith(QUESTION_ENDINGS)
        return asks and policy


class Said:
    """The sender's message is one of these words (or `回复 <word>`)."""

    def __init__(self, *words: str) -> None:
        self.words = frozenset(words)

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        return _said(msg.text) in self.words


def _said(text: str) -> str:
    said = text.strip().rstrip("。.!！~～ ")
    return said.removeprefix("回复").strip() or said


@router.message(Command("问", "政策咨询", "ask"), menu="menu.ask", menu_order=30)
async def ask(msg: InboundMessage, ctx: Context) -> Reply:
    """问 八十岁有补贴吗"""
    if not ctx.args:
        return ctx.reply("policy.ask_usage")
    return await answer(ctx, ctx.args)


@router.message(Command(*CANCEL_WORDS), InState(CHOOSE))
async def not_chosen(msg: InboundMessage, ctx: Context) -> Reply:
    ctx.conversation.end()
    return ctx.reply("policy.choose_cancelled")


@router.message(InState(CHOOSE), KindIs(Kind.TEXT, Kind.VOICE), Said(*map(str, range(4))))
async def chosen(msg: InboundMessage, ctx: Context) -> Reply:
    """The number of one of the three titles offered; 0: none of them."""
    assert ctx.state is not None
    ids = [int(i) for i in ctx.state.data.get("entries", [])]
    text = str(ctx.state.data.get("text", ""))
    number = int(_said(msg.text))
    ctx.conversation.end()
    if number == 0 or number > len(ids):
        return await unanswered(ctx, text)
    entry = await ctx.store.policy.entry(ids[number - 1])
    if entry is None or entry.removed:
        return await unanswered(ctx, text)
    return answered(ctx, entry, text)


@router.message(InState(FEEDBACK), KindIs(Kind.TEXT, Kind.VOICE), Said(*USEFUL, *UNSOLVED))
async def feedback(msg: InboundMessage, ctx: Context) -> Reply:
    """1: it helped; 2: it did not, and the question goes to the cadres."""
    assert ctx.state is not None
    ctx.conversation.end()
    if _said(msg.text) in USEFUL:
        return ctx.reply("policy.thanks")
    entry_id = ctx.state.data.get("entry")
    entry = await ctx.store.policy.entry(int(entry_id)) if entry_id is not None else None
    text = str(ctx.state.data.get("text", ""))
    return await unanswered(ctx, text, entry)


@router.message(KindIs(Kind.TEXT, Kind.VOICE), AsksPolicy())
async def asked(msg: InboundMessage, ctx: Context) -> Reply:
    return await answer(ctx, msg.text.strip(), reports=True)


async def answer(ctx: Context, text: str, *, reports: bool = False) -> Reply:
    """The knowledge base's answer; with none, a question that may be a problem (停水了吗？)
    is asked about as a report when `reports`, else it goes to the cadres."""
    found = await find(ctx, text)
    if found.verdict == "sure":
        return answered(ctx, found.entries[0], text)
    if found.verdict == "choose":
        ctx.conversation.set(CHOOSE, entries=[e.id for e in found.entries], text=text)
        lines = [ctx.t("policy.choose")]
        lines += [
            ctx.t("policy.choose_line", n=n, title=e.title) for n, e in enumerate(found.entries, 1)
        ]
        lines.append(ctx.t("policy.choose_none"))
        return Reply.of_text("\n".join(lines))
    reading = ctx.understanding.read(text)
    if reports and reading.ask and Role.VILLAGER in ctx.roles:
        return ask_to_report(ctx, text, reading)
    return await unanswered(ctx, text)


def answered(ctx: Context, entry: KbEntry, text: str) -> Reply:
    ctx.conversation.set(FEEDBACK, entry=entry.id, text=text)
    source = ctx.t("policy.source", source=entry.source) if entry.source else ""
    return ctx.reply("policy.answer", title=entry.title, answer=entry.answer, source=source)


async def unanswered(ctx: Context, text: str, entry: KbEntry | None = None) -> Reply:
    """The question for the cadres (a farming one for the township's technician); a guest
    is told to bind first."""
    if ctx.person is None or ctx.person.village_id is None:
        return ctx.reply("policy.nothing_guest")
    found = set(marks(prepared(text)))
    kind = QuestionKind.AGRI if found & FARMING and "¶policy" not in found else QuestionKind.POLICY
    if entry is not None:
        return await ask_cadres(ctx, text, kind=kind, entry_id=entry.id, about=entry.title)
    return await ask_cadres(ctx, text, kind=kind)
