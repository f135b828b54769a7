"""Questions for the cadres (the 24-hour rule): what the knowledge base could not answer, a
`2` (没解决) on an answer, a farming question for the township's technician, a question on a
三务公开. `待答问题` lists them, `回复 N 答案` answers (the villager told at once), `收录 N`
makes the question and its answer an entry of the village's knowledge base."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from handlers.points.reviewing import Numbered, readable
from handlers.reports.lifecycle import local_time, number_and_rest
from handlers.tell import Tell
from storage.models import CADRE_ROLES, KbEntry, Question, QuestionKind, Role

router = Router(name="policy.questions")

REPLY_HOURS = 24  # 按期回复: a villager's question is answered within a day
MAX_ANSWER = 580
ANSWER, COLLECT = Command("回复", "answer"), Command("收录", "collect")
AGRI_ONLY = frozenset({Role.AGRI_TECHNICIAN})


async def ask_cadres(
    ctx: Context,
    text: str,
    *,
    kind: QuestionKind = QuestionKind.POLICY,
    entry_id: int | None = None,
    disclosure_id: int | None = None,
    about: str = "",
) -> Reply:
    """Make the villager's words a Question for their village's cadres (a farming one for
    the township's technician), due in REPLY_HOURS; the cadres told at once, through the
    outbox. `about`: what it is about, shown to the cadres (an answer's title, a
    disclosure's). The reply says who will answer and by when."""
    person = ctx.person
    if person is None or person.village_id is None:
        return ctx.reply("policy.ask_bind")
    village = await ctx.store.org.get(person.village_id)
    assert village is not None
    holder = village
    if kind is QuestionKind.AGRI and village.parent_id is not None:
        holder = await ctx.store.org.get(village.parent_id) or village
    now = ctx.clock.now()
    due = now + timedelta(hours=REPLY_HOURS)
    question = await ctx.store.policy.add_question(
        Question(
            kind=kind,
            village_id=village.id,
            unit_id=holder.id,
            asker_id=person.id,
            text=text[:1000],
            entry_id=entry_id,
            disclosure_id=disclosure_id,
            created_at=now,
            due_at=due,
            chase_at=due,
        )
    )
    mention = await technicians(ctx, holder.id) if holder is not village else []
    await Tell.of(ctx).groups(
        holder.id,
        "policy.question_new",
        purpose="question",
        mention=mention,
        number=question.id,
        village=village.name,
        name=person.name,
        text=text,
        about=ctx.t("policy.about", about=about) if about else "",
        due=f"{local_time(ctx, due):%m-%d %H:%M}",
    )
    who = ctx.t("policy.who_agri") if holder is not village else ctx.t("policy.who_village")
    return ctx.reply("policy.question_made", number=question.id, who=who, hours=REPLY_HOURS)


async def technicians(ctx: Context, township_id: int) -> list[int]:
    return [
        p.id
        for p, a in await ctx.store.reports.cadres([township_id])
        if a.role is Role.AGRI_TECHNICIAN
    ]


def _kinds(ctx: Context) -> tuple[QuestionKind, ...]:
    """A technician answers the farming questions; the other cadres all of them."""
    if ctx.roles & CADRE_ROLES <= AGRI_ONLY:
        return (QuestionKind.AGRI,)
    return tuple(QuestionKind)


@router.message(
    Command("待答问题", "questions"),
    roles=CADRE_ROLES,
    menu="menu.questions",
    menu_order=57,
)
async def waiting(msg: InboundMessage, ctx: Context) -> Reply:
    """The questions of the cadre's villages not yet answered, oldest first."""
    villages = await readable(ctx)
    questions = await ctx.store.policy.waiting(sorted(villages), _kinds(ctx))
    if not questions:
        return ctx.reply("policy.waiting_none")
    now = ctx.clock.now()
    lines = [ctx.t("policy.waiting_title", count=len(questions))]
    for q in questions:
        asker = await ctx.store.people.get(q.asker_id)
        late = "policy.late" if q.due_at <= now else "policy.due"
        lines.append(
            ctx.t(
                "policy.waiting_line",
                number=q.id,
                village=villages.get(q.village_id, ""),
                name=asker.name if asker else "",
                text=q.text,
                when=ctx.t(late, due=f"{local_time(ctx, q.due_at):%m-%d %H:%M}"),
            )
        )
    lines.append(ctx.t("policy.waiting_hint"))
    return Reply.of_text("\n".join(lines))


async def _question(ctx: Context, command: str) -> Question | Reply:
    number, _ = number_and_rest(ctx.args)
    if number is None:
        return ctx.reply("policy.number_usage", command=ctx.t(command))
    question = await ctx.store.policy.question(number, lock=True)
    if question is None or question.village_id not in await readable(ctx):
        return ctx.reply("policy.no_such_question", number=number)
    if question.kind not in _kinds(ctx):
        return ctx.reply("policy.not_yours", number=number)
    return question


class NumberAndWords:
    """回复 12 带上户口本…: the number and the answer (a villager's 回复 2 to an answer of
    the knowledge base is not this)."""

    def __call__(self, msg: InboundMessage, ctx: Context) -> bool:
        args = ANSWER.args(msg.text)
        number, words = number_and_rest(args or "")
        return number is not None and bool(words)


@router.message(ANSWER, NumberAndWords(), roles=CADRE_ROLES)
async def answer(msg: InboundMessage, ctx: Context) -> Reply:
    """回复 12 带上户口本和身份证到镇便民服务中心办理"""
    _, words = number_and_rest(ctx.args)
    if len(words) > MAX_ANSWER:
        return ctx.reply("policy.answer_too_long", max=MAX_ANSWER, length=len(words))
    question = await _question(ctx, "policy.cmd.answer")
    if isinstance(question, Reply):
        return question
    assert ctx.person is not None
    again = question.answered_at is not None
    now = ctx.clock.now()
    if not again:
        question.answered_at, question.chase_at = now, None
    question.answer, question.answered_by = words, ctx.person.id
    asker = await ctx.store.people.get(question.asker_id)
    if asker is not None:
        await Tell.of(ctx).person(
            asker,
            "policy.answered_villager",
            "question",
            text=question.text,
            answer=words,
            name=ctx.person.name,
        )
    key = "policy.answered_again" if again else "policy.answered"
    late = question.answered_at is not None and question.answered_at > question.due_at
    return ctx.reply(key, number=question.id, late=ctx.t("policy.answered_late") if late else "")


@router.message(COLLECT, Numbered(COLLECT), roles=CADRE_ROLES - AGRI_ONLY)
async def collect(msg: InboundMessage, ctx: Context) -> Reply:
    """收录 12 [标题]: the question and its answer become an entry of the village's own
    knowledge base, answered from then on without a cadre."""
    _, title = number_and_rest(ctx.args)
    question = await _question(ctx, "policy.cmd.collect")
    if isinstance(question, Reply):
        return question
    if question.answered_at is None:
        return ctx.reply("policy.collect_unanswered", number=question.id)
    if question.collected_id is not None:
        return ctx.reply("policy.collect_again", number=question.id)
    assert ctx.person is not None
    village = await ctx.store.org.get(question.village_id)
    assert village is not None
    title = (title or question.text)[:40]
    now = ctx.clock.now()
    entry = await ctx.store.policy.entry_titled(village.id, title)
    if entry is None:
        entry = await ctx.store.policy.add_entry(
            KbEntry(
                unit_id=village.id,
                title=title,
                variants=[question.text],
                answer=question.answer,
                keywords=[],
                source=ctx.t("policy.collected_source", village=village.name),
                updated_at=now,
                updated_by_id=ctx.person.id,
            )
        )
    else:
        entry.variants = [*entry.variants, question.text]
        entry.answer, entry.updated_at, entry.updated_by_id = question.answer, now, ctx.person.id
        entry.removed = False
    question.collected_id = entry.id
    return ctx.reply("policy.collected", number=question.id, title=title, village=village.name)
