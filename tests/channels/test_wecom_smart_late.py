"""WeCom's smart robot when an answer misses the passive reply deadline: the callback is
answered empty in time, and the answer goes later, once, through the message's response_url
(then through the group's robot), against a local WeCom over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services, build_services
from bot.channels.base import ChannelDeps
from bot.channels.wecom_smart import WeComBotChannel
from bot.clock import FixedClock
from bot.config import BotSettings, Settings, WeComBotChannelSettings
from bot.context import Context
from bot.dispatcher import Dispatcher
from bot.i18n import Translations
from bot.message import InboundMessage, Push, Reply, ReplyKind
from bot.metrics import Metrics
from bot.outbox import OutboxWorker, enqueue
from bot.router import Command, Router
from bot.tasks import TaskSet
from storage.importer import import_registry, read_registry
from storage.models import OutboxMessage, OutboxStatus
from tests.conftest import DATA, WECHAT_AES_KEY, WECHAT_TOKEN
from tests.factories import add_wecom_group
from tests.fakes.wecom import FakeWeCom, GroupRobot
from tests.fakes.wecom_smart import SmartRobotCallbacks

DEADLINE = 0.2  # the bot's passive reply deadline here (4 s in production)
WECOM_WAITS = 5.0  # how long WeCom waits for a callback's answer (PROTOCOLS.md §3.1)
CHAT = "CHAT-LATE"
ANSWERS = ("查好了：您的上报已受理", "另外：明天上午有人来修")


@dataclass
class Stack:
    wecom: SmartRobotCallbacks
    fake: FakeWeCom
    base: str  # the local WeCom's address
    robot: GroupRobot  # the group's robot webhook
    services: Services
    tasks: TaskSet
    outbox: OutboxWorker
    released: asyncio.Event  # the slow handling finishes once this is set
    asked: list[str]  # messages the handler has started on
    calls: list[str]  # every call the bot made to the local WeCom


def slow_router(released: asyncio.Event, asked: list[str]) -> Router:
    """One handler that answers only once the test lets it: a handling that misses any
    deadline for as long as the test wants, with no sleeping."""
    router = Router(name="slow")

    @router.message(Command("慢慢查"))
    async def slow(msg: InboundMessage, ctx: Context) -> tuple[Reply, ...]:
        asked.append(msg.msg_id)
        await released.wait()
        return tuple(Reply.of_text(answer) for answer in ANSWERS)

    return router


@pytest.fixture
async def stack(
    settings: Settings, clock: FixedClock, aiohttp_server: Any, aiohttp_client: Any
) -> AsyncIterator[Stack]:
    """The smart-robot channel wired as the app wires it (bot/app.py), with a dispatcher
    whose only handler is slow, a short reply deadline and late-reply wait, and the group
    CHAT-LATE of 柳树村 with its robot KEY-L."""
    fake = FakeWeCom(clock)
    calls: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        calls.append(request.path_qs)
        response: web.StreamResponse = await handler(request)
        return response

    platform = fake.app()
    platform.middlewares.append(record)
    base = str((await aiohttp_server(platform)).make_url("")).rstrip("/")
    channel_settings = WeComBotChannelSettings(
        type="wecom_bot",
        name="wbot",
        token=WECHAT_TOKEN,
        encoding_aes_key=WECHAT_AES_KEY,
        api_base=base,
    )
    bot = BotSettings(reply_deadline_seconds=DEADLINE, late_reply_after_seconds=0.05)
    update = {"channels": [*settings.channels, channel_settings], "bot": bot}
    services = build_services(settings.model_copy(update=update), clock)
    released, asked = asyncio.Event(), list[str]()
    metrics, translations = Metrics(), Translations()
    dispatcher = Dispatcher(
        slow_router(released, asked), services.uow, services.kv, clock, bot, translations, metrics
    )
    tasks = TaskSet()
    deps = ChannelDeps(dispatcher=dispatcher, tasks=tasks, clock=clock, metrics=metrics)
    channel = WeComBotChannel(
        channel_settings, deps, DEADLINE, services.uow, services.http, services.media, services.kv
    )
    outbox = OutboxWorker(
        services.uow,
        services.kv,
        clock,
        {"wbot": channel},
        services.settings.outbox,
        translations,
        metrics,
    )
    dispatcher.on_push = outbox.wake  # not started: driven by hand, with the clock
    app = web.Application()
    app.router.add_route("*", "/callback/wbot", channel.callback)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    await import_registry(services.uow, read_registry(DATA / "registry.yaml"))
    async with services.uow() as store:
        await add_wecom_group(store, code="WGL", chat=CHAT, key="KEY-L")
    wecom = SmartRobotCallbacks(client, "/callback/wbot", clock, WECHAT_TOKEN, WECHAT_AES_KEY)
    robot = fake.robot("KEY-L")
    yield Stack(wecom, fake, base, robot, services, tasks, outbox, released, asked, calls)
    released.set()
    await tasks.drain()
    await services.http.close()
    await services.kv.close()
    await services.engine.dispose()


def mention(msg_id: str, words: str, code: str, base: str) -> dict[str, Any]:
    """A group @mention as WeCom sends it, with the message's own response_url."""
    return {
        "msgid": msg_id,
        "aibotid": "AIBOT1",
        "chattype": "group",
        "chatid": CHAT,
        "from": {"userid": "wangxiuying"},
        "msgtype": "text",
        "text": {"content": f"@村务助手 {words}"},
        "response_url": f"{base}/cgi-bin/aibot/response?response_code={code}",
    }


async def outbox_rows(services: Services) -> list[OutboxMessage]:
    async with services.uow() as store:
        found = await store.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return list(found.all())


def response_posts(stack: Stack) -> list[str]:
    return [c for c in stack.calls if c.startswith("/cgi-bin/aibot/response")]


async def test_a_late_answer_goes_once_through_the_response_url_then_through_the_robot(
    stack: Stack, clock: FixedClock
) -> None:
    stack.fake.responses["RC1"] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = await stack.wecom.post(mention("m-late-1", "慢慢查", "RC1", stack.base))
    took = loop.time() - started
    # answered empty while the handling still runs, well before WeCom gives up and retries
    assert (answer.status, answer.text) == (200, "")
    assert stack.asked == ["m-late-1"]
    assert took < WECOM_WAITS
    assert await outbox_rows(stack.services) == []  # nothing to say yet
    stack.released.set()  # the handling finishes
    await stack.tasks.drain()  # …and, no retry having taken them, its answers are queued
    late = await outbox_rows(stack.services)
    assert [(r.target, r.reply["text"], r.purpose) for r in late] == [
        (CHAT, text, "late reply") for text in ANSWERS
    ]
    await stack.outbox.run_once()
    # the first answer: one markdown POST to the message's own response_url
    assert stack.fake.responses["RC1"] == [
        {"msgtype": "markdown", "markdown": {"content": ANSWERS[0]}}
    ]
    assert stack.robot.received == []
    clock.advance(3)  # the group's 3 s spacing
    await stack.outbox.run_once()
    # the second: the response_url is used up, so the group's robot carries it
    assert stack.robot.received == [{"msgtype": "text", "text": {"content": ANSWERS[1]}}]
    assert response_posts(stack) == ["/cgi-bin/aibot/response?response_code=RC1"]  # once
    sent = await outbox_rows(stack.services)
    assert [r.status for r in sent] == [OutboxStatus.SENT, OutboxStatus.SENT]
    assert {r.answer for r in sent} == {"errcode 0: ok"}


async def test_a_card_is_not_flattened_into_the_response_urls_markdown(
    stack: Stack, clock: FixedClock
) -> None:
    """A message's response_url takes markdown only: a card for the group goes as a card
    through its robot, and the response_url is kept for the answer that fits it."""
    stack.fake.responses["RC2"] = []
    stack.released.set()  # the answer is in time: the response_url stays unused
    answer = await stack.wecom.post(mention("m-card", "慢慢查", "RC2", stack.base))
    assert answer.reply is not None
    assert answer.reply["msgtype"] == "stream"
    card = Reply(
        kind=ReplyKind.LINK, title="停水通知", text="周一 8:00-12:00", url="https://v.example/n/1"
    )
    async with stack.services.uow() as store:
        for reply in (card, Reply.of_text("请大家提前储水")):
            enqueue(
                store, Push(channel="wbot", chat_id=CHAT, is_group=True, reply=reply), clock.now()
            )
    await stack.outbox.run_once()
    clock.advance(3)
    await stack.outbox.run_once()
    (news,) = stack.robot.received
    assert news["news"]["articles"] == [
        {"title": "停水通知", "description": "周一 8:00-12:00", "url": "https://v.example/n/1"}
    ]
    assert stack.fake.responses["RC2"] == [
        {"msgtype": "markdown", "markdown": {"content": "请大家提前储水"}}
    ]
