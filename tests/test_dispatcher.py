"""The message flow on every storage combination: dedup, rate limit, routing, transactions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.channels.base import ChannelDeps, deliver
from bot.clock import FixedClock
from bot.config import BotSettings
from bot.context import Context
from bot.dispatcher import Dispatcher
from bot.i18n import Translations
from bot.message import InboundMessage, Push, Reply
from bot.metrics import Metrics
from bot.router import Command, InState, Router
from bot.store import Keys, KeyValue, MemoryStore
from bot.tasks import TaskSet
from handlers import build_router
from storage.db import create_engine, session_factory
from storage.importer import import_registry, read_registry
from storage.models import (
    Identity,
    InboundLog,
    InboundResult,
    OrgUnit,
    OutboxMessage,
    Role,
    RoleAssignment,
)
from storage.repos import UnitOfWork, unit_of_work
from tests.factories import message

ZH = Translations().for_locale("zh_CN")
# the menu pointer, worded for what the words read as (a greeting, a question, neither)
FALLBACKS = [[ZH.t(key)] for key in ("fallback.unknown", "fallback.chat", "fallback.question")]
DATA = Path(__file__).parent / "data"


def recording_router() -> tuple[Router, list[str]]:
    """Handlers that record what they did, plus the real features behind them."""
    calls: list[str] = []
    router = Router(name="test")

    @router.message(Command("数数"))
    async def count(msg: InboundMessage, ctx: Context) -> Reply:
        calls.append(msg.msg_id)
        await asyncio.sleep(0)  # let concurrent deliveries interleave
        return Reply.of_text(f"第{len(calls)}次")

    @router.message(Command("坏了"))
    async def broken(msg: InboundMessage, ctx: Context) -> Reply:
        await ctx.store.identities.bind("sim", msg.sender_id, 1, by="self", at=ctx.clock.now())
        raise RuntimeError("handler bug")

    @router.message(Command("绑我"))
    async def bind_me(msg: InboundMessage, ctx: Context) -> Reply:
        calls.append(msg.msg_id)
        await ctx.store.identities.bind("sim", msg.sender_id, 1, by="self", at=ctx.clock.now())
        return Reply.of_text("好")

    @router.message(Command("通知大家"))
    async def notify(msg: InboundMessage, ctx: Context) -> Reply:
        ctx.push(Push(channel="sim", chat_id="grp", is_group=True, reply=Reply.of_text("开会")))
        if msg.text.endswith("然后出错"):
            raise RuntimeError("handler bug after queuing a push")
        return Reply.of_text("已通知")

    @router.message(Command("开始"))
    async def start(msg: InboundMessage, ctx: Context) -> Reply:
        ctx.conversation.set("test.step", n=1)
        return Reply.of_text("请说下一句")

    @router.message(InState("test.step"))
    async def step(msg: InboundMessage, ctx: Context) -> Reply:
        assert ctx.state is not None
        ctx.conversation.end()
        return Reply.of_text(f"第二步:{msg.text}:{ctx.state.data['n']}")

    @router.message(Command("干部功能"), roles={Role.VILLAGE_SECRETARY})
    async def cadre_only(msg: InboundMessage, ctx: Context) -> Reply:
        return Reply.of_text("干部好")

    router.include_router(build_router())
    return router, calls


Factory = Callable[..., Dispatcher]


@pytest.fixture
def make_dispatcher(uow: UnitOfWork, kv: KeyValue, clock: FixedClock) -> Factory:
    def make(router: Router, store: KeyValue | None = None, **settings: int) -> Dispatcher:
        return Dispatcher(
            router, uow, store or kv, clock, BotSettings(**settings), Translations(), Metrics()
        )

    return make


async def rows(
    uow: UnitOfWork, model: type[InboundLog] | type[Identity] | type[OutboxMessage]
) -> int:
    async with uow() as store:
        return int(await store.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def registry(uow: UnitOfWork) -> None:
    await import_registry(uow, read_registry(DATA / "registry.yaml"))


async def test_three_identical_deliveries_are_handled_once(
    make_dispatcher: Factory, uow: UnitOfWork
) -> None:
    router, calls = recording_router()
    dispatcher = make_dispatcher(router)
    msg = message("数数", msg_id="same")
    outcomes = await asyncio.gather(*(dispatcher.feed(msg) for _ in range(3)))
    assert calls == ["same"]
    assert sorted(o.result for o in outcomes) == ["duplicate", "duplicate", "handled"]
    assert await rows(uow, InboundLog) == 1
    # a retry is given what the first delivery answered
    assert await dispatcher.replies.of("sim", "same", wait=1) == (Reply.of_text("第1次"),)


async def test_lost_dedup_key_still_commits_one_handling(
    make_dispatcher: Factory, uow: UnitOfWork, registry: None, clock: FixedClock
) -> None:
    """Two instances whose dedup keys were lost: the database keeps one handling."""
    router, _ = recording_router()
    first = make_dispatcher(router, MemoryStore(clock, Keys("a")))
    second = make_dispatcher(router, MemoryStore(clock, Keys("b")))
    msg = message("绑我", msg_id="twice", sender="x1")
    outcomes = await asyncio.gather(first.feed(msg), second.feed(msg))
    assert sorted(o.result for o in outcomes) == ["duplicate", "handled"]
    assert await rows(uow, InboundLog) == 1
    assert await rows(uow, Identity) == 1


async def test_failing_handler_apologises_and_writes_nothing(
    make_dispatcher: Factory, uow: UnitOfWork, registry: None, caplog: pytest.LogCaptureFixture
) -> None:
    router, _ = recording_router()
    dispatcher = make_dispatcher(router)
    identities_before = await rows(uow, Identity)
    with caplog.at_level(logging.ERROR):
        outcome = await dispatcher.feed(message("坏了", msg_id="boom", sender="x2"))
    assert outcome.result == "error"
    assert outcome.replies == (Reply.of_text(ZH.t("error.apology")),)
    assert await rows(uow, Identity) == identities_before  # the bind was rolled back
    assert any("boom" in r.getMessage() for r in caplog.records)  # logged with the message id
    async with uow() as store:
        logged = await store.inbound.get("sim", "boom")
    assert logged is not None
    assert logged.result is InboundResult.ERROR
    # the platform's retry gets the same apology, not a second failure
    retry = await dispatcher.feed(message("坏了", msg_id="boom", sender="x2"))
    assert retry.result == "duplicate"
    assert await dispatcher.replies.of("sim", "boom", wait=1) == outcome.replies


async def test_flood_gets_one_warning_then_silence(
    make_dispatcher: Factory, uow: UnitOfWork
) -> None:
    router, calls = recording_router()
    dispatcher = make_dispatcher(router, rate_limit_per_minute=3)
    outcomes = [await dispatcher.feed(message("数数", sender="flooder")) for _ in range(6)]
    assert [o.result for o in outcomes] == ["handled"] * 3 + ["rejected"] * 3
    assert outcomes[3].replies == (Reply.of_text(ZH.t("flood.warning")),)
    assert outcomes[4].replies == outcomes[5].replies == ()
    assert len(calls) == 3
    # nothing is lost: the dropped messages are in the log
    assert await rows(uow, InboundLog) == 6
    # another villager is not affected
    assert (await dispatcher.feed(message("数数", sender="neighbour"))).result == "handled"


async def test_flood_window_passes(make_dispatcher: Factory, clock: FixedClock) -> None:
    router, _ = recording_router()
    dispatcher = make_dispatcher(router, rate_limit_per_minute=1)
    assert (await dispatcher.feed(message("数数", sender="f"))).result == "handled"
    assert (await dispatcher.feed(message("数数", sender="f"))).result == "rejected"
    clock.advance(61)
    assert (await dispatcher.feed(message("数数", sender="f"))).result == "handled"


async def test_conversation_state_carries_to_the_next_message(make_dispatcher: Factory) -> None:
    router, _ = recording_router()
    dispatcher = make_dispatcher(router)
    first = await dispatcher.feed(message("开始", sender="s1"))
    assert first.replies == (Reply.of_text("请说下一句"),)
    second = await dispatcher.feed(message("三组那件事", sender="s1"))
    assert second.replies == (Reply.of_text("第二步:三组那件事:1"),)
    third = await dispatcher.feed(message("好的谢谢", sender="s1"))  # state ended
    assert third.replies == (Reply.of_text(ZH.t("fallback.chat")),)


async def test_state_expires(make_dispatcher: Factory, clock: FixedClock) -> None:
    # the memory store expires by the injected clock (Redis TTLs are checked in test_kv)
    router, _ = recording_router()
    dispatcher = make_dispatcher(router, MemoryStore(clock), state_ttl_seconds=600)
    await dispatcher.feed(message("开始", sender="s2"))
    clock.advance(601)
    late = await dispatcher.feed(message("好的谢谢", sender="s2"))
    assert late.replies == (Reply.of_text(ZH.t("fallback.chat")),)


async def test_group_message_not_addressed_is_ignored_but_logged(
    make_dispatcher: Factory, uow: UnitOfWork
) -> None:
    router, _ = recording_router()
    dispatcher = make_dispatcher(router)
    chatter = await dispatcher.feed(message("今天赶集吗", sender="g1", chat="grp", msg_id="chat1"))
    assert chatter.result == "handled"
    assert chatter.replies == ()
    # a command word is answered even without an @mention
    command = await dispatcher.feed(message("数数", sender="g1", chat="grp"))
    assert command.replies == (Reply.of_text("第1次"),)
    # free text with an @mention reaches the fallback
    mentioned = await dispatcher.feed(
        message("今天赶集吗", sender="g1", chat="grp", mentioned=True)
    )
    assert [r.text for r in mentioned.replies] in FALLBACKS
    async with uow() as store:
        ignored = await store.inbound.get("sim", "chat1")
    assert ignored is not None
    assert ignored.result is InboundResult.IGNORED


async def test_role_filter_refuses_with_one_clear_message(
    make_dispatcher: Factory, uow: UnitOfWork, registry: None, clock: FixedClock
) -> None:
    router, _ = recording_router()
    dispatcher = make_dispatcher(router)
    async with uow() as store:
        villager = (await store.people.matching("王秀英", "1111"))[0]
        secretary = (await store.people.matching("李书记", "2222"))[0]
        await store.identities.bind("sim", "villager", villager.id, by="import", at=clock.now())
        await store.identities.bind("sim", "secretary", secretary.id, by="import", at=clock.now())
    guest = await dispatcher.feed(message("干部功能", sender="stranger"))
    assert guest.replies == (Reply.of_text(ZH.t("refusal.bind_first")),)
    refused = await dispatcher.feed(message("干部功能", sender="villager"))
    assert refused.replies == (Reply.of_text(ZH.t("refusal.not_permitted")),)
    allowed = await dispatcher.feed(message("干部功能", sender="secretary"))
    assert allowed.replies == (Reply.of_text("干部好"),)


async def test_lost_dedup_key_with_a_read_only_handler_logs_once(
    make_dispatcher: Factory, uow: UnitOfWork, clock: FixedClock
) -> None:
    """The group-committed log refuses a second handling too, and says which one lost."""
    router, _ = recording_router()
    first = make_dispatcher(router, MemoryStore(clock, Keys("a")))
    second = make_dispatcher(router, MemoryStore(clock, Keys("b")))
    msg = message("数数", msg_id="read-only-twice", sender="x3")
    outcomes = await asyncio.gather(first.feed(msg), second.feed(msg))
    assert sorted(o.result for o in outcomes) == ["duplicate", "handled"]
    assert await rows(uow, InboundLog) == 1


async def test_many_messages_at_once_are_each_answered_and_logged(
    make_dispatcher: Factory, uow: UnitOfWork
) -> None:
    router, _ = recording_router()
    dispatcher = make_dispatcher(router)
    msgs = [message("帮助", sender=f"crowd{i}", msg_id=f"crowd{i}") for i in range(60)]
    outcomes = await asyncio.gather(*(dispatcher.feed(m) for m in msgs))
    assert all(o.result == "handled" for o in outcomes)
    assert all(o.replies and ZH.t("menu.bind") in o.replies[0].text for o in outcomes)
    assert await rows(uow, InboundLog) == 60
    async with uow() as store:
        logged = await store.inbound.get("sim", "crowd59")
    assert logged is not None
    assert logged.handler == "help.show_menu"
    assert logged.result is InboundResult.HANDLED


async def test_database_down_apologises_and_lets_the_retry_through(
    make_dispatcher: Factory, kv: KeyValue, clock: FixedClock, tmp_path: Path
) -> None:
    """Nothing lost: when not even the log can be written, the platform's retry is handled
    afresh instead of being taken for a duplicate."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/bot.db")
    router, _ = recording_router()
    down = Dispatcher(
        router,
        unit_of_work(session_factory(engine)),
        kv,
        clock,
        BotSettings(),
        Translations(),
        Metrics(),
    )
    msg = message("帮助", msg_id="while-down", sender="patient")
    try:
        outcome = await down.feed(msg)
    finally:
        await engine.dispose()
    assert outcome.result == "error"
    assert outcome.replies == (Reply.of_text(ZH.t("error.apology")),)
    retried = await make_dispatcher(router).feed(msg)  # the database is back
    assert retried.result == "handled"
    assert ZH.t("menu.bind") in retried.replies[0].text


async def test_registry_changes_reach_the_bot_within_the_directory_ttl(
    make_dispatcher: Factory, uow: UnitOfWork, registry: None, clock: FixedClock
) -> None:
    router, _ = recording_router()
    dispatcher = make_dispatcher(router, MemoryStore(clock), directory_ttl_seconds=60)
    async with uow() as store:
        villager = (await store.people.matching("王秀英", "1111"))[0]
        await store.identities.bind("sim", "wxy", villager.id, by="import", at=clock.now())
    before = await dispatcher.feed(message("干部功能", sender="wxy"))
    assert before.replies == (Reply.of_text(ZH.t("refusal.not_permitted")),)
    async with uow() as store:  # an import makes her village secretary
        village = await store.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "V1"))
        assert village is not None
        store.session.add(
            RoleAssignment(person_id=villager.id, org_unit_id=village, role=Role.VILLAGE_SECRETARY)
        )
    clock.advance(61)
    after = await dispatcher.feed(message("干部功能", sender="wxy"))
    assert after.replies == (Reply.of_text("干部好"),)


async def test_a_push_is_queued_only_when_the_handler_commits(
    make_dispatcher: Factory, uow: UnitOfWork
) -> None:
    router, _ = recording_router()
    dispatcher = make_dispatcher(router)
    woken: list[bool] = []
    dispatcher.on_push = lambda: woken.append(True)
    ok = await dispatcher.feed(message("通知大家", sender="cadre"))
    assert ok.replies == (Reply.of_text("已通知"),)
    assert await rows(uow, OutboxMessage) == 1
    assert woken == [True]  # the worker is told at once, not at its next poll
    failed = await dispatcher.feed(message("通知大家然后出错", sender="cadre"))
    assert failed.result == "error"
    assert await rows(uow, OutboxMessage) == 1  # the failed handler's push went with it
    assert woken == [True]


def slow_router(seconds: float) -> Router:
    router = Router(name="slow")

    @router.message(Command("慢慢查"))
    async def slow(msg: InboundMessage, ctx: Context) -> Reply:
        await asyncio.sleep(seconds)
        return Reply.of_text("查好了")

    return router


async def test_a_reply_that_misses_the_deadline_is_pushed_when_no_retry_takes_it(
    uow: UnitOfWork, kv: KeyValue, clock: FixedClock
) -> None:
    settings = BotSettings(late_reply_after_seconds=0.2)
    dispatcher = Dispatcher(slow_router(0.3), uow, kv, clock, settings, Translations(), Metrics())
    tasks = TaskSet()
    deps = ChannelDeps(dispatcher=dispatcher, tasks=tasks, clock=clock, metrics=Metrics())
    assert await deliver(deps, message("慢慢查", msg_id="slow1", sender="villager"), 0.1) == ()
    await tasks.drain()
    async with uow() as store:
        (row,) = (await store.session.scalars(select(OutboxMessage))).all()
    assert (row.target, row.reply["text"], row.purpose) == ("villager", "查好了", "late reply")


async def test_a_late_reply_given_to_a_retry_is_not_pushed_again(
    uow: UnitOfWork, kv: KeyValue, clock: FixedClock
) -> None:
    settings = BotSettings(late_reply_after_seconds=0.5)
    dispatcher = Dispatcher(slow_router(0.2), uow, kv, clock, settings, Translations(), Metrics())
    tasks = TaskSet()
    deps = ChannelDeps(dispatcher=dispatcher, tasks=tasks, clock=clock, metrics=Metrics())
    msg = message("慢慢查", msg_id="slow2", sender="villager")
    assert await deliver(deps, msg, 0.1) == ()
    retried = await deliver(deps, msg, 5.0)  # the platform's retry, while it is still handled
    assert retried == (Reply.of_text("查好了"),)
    await tasks.drain()
    assert await rows(uow, OutboxMessage) == 0


async def test_a_retry_that_comes_as_the_late_push_is_due_never_doubles_the_answer(
    uow: UnitOfWork, kv: KeyValue, clock: FixedClock
) -> None:
    """The handling outlasts the late-reply wait while a retry waits for it: whichever of
    the two asks first delivers the answer, the other nothing."""
    settings = BotSettings(late_reply_after_seconds=0.05)
    dispatcher = Dispatcher(slow_router(0.3), uow, kv, clock, settings, Translations(), Metrics())
    tasks = TaskSet()
    deps = ChannelDeps(dispatcher=dispatcher, tasks=tasks, clock=clock, metrics=Metrics())
    msg = message("慢慢查", msg_id="slow3", sender="villager")
    assert await deliver(deps, msg, 0.01) == ()
    retried = await deliver(deps, msg, 2.0)
    await tasks.drain()
    pushed = await rows(uow, OutboxMessage)
    assert (len(retried), pushed) in ((1, 0), (0, 1))
