"""Villagers' words in WeCom's markdowns, as a cadre group's robot, a message's response_url
and a smart robot's stream show them: read as written, never as links, pictures, headings,
<font> or <@userid> mentions, while the bot's own markup still draws."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.app import SERVICES, Services, create_app
from bot.channels.render import SEPARATOR
from bot.channels.wecom_smart_streams import stream_content
from bot.clock import FixedClock
from bot.config import OutboxSettings, Settings, WeComBotChannelSettings
from bot.message import Push, Reply, ReplyKind
from bot.outbox import enqueue
from storage.importer import import_registry, read_registry
from tests.channels.markdown_reader import HOSTILE, as_typed, markup, read
from tests.channels.test_wecom import sealed
from tests.conftest import DATA, WECHAT_AES_KEY, WECHAT_TOKEN
from tests.factories import add_wecom_group
from tests.fakes.wecom import FakeWeCom, GroupRobot

# WeCom's `markdown` draws no tables and places no mention for a bare `@name`
WECOM = {"tables": False, "at": False}
TABLE = "### 本周排名\n\n| 名次 | 单位 | 上报 |\n|---|---|---:|\n| 1 | 柳树村 | 2 |"
LINK = "https://v.example/n/1"
NOTICES = [f"【随手拍 #{k}】{words}" for k, words in enumerate(HOSTILE)]


@dataclass
class Stack:
    client: TestClient[Any, Any]
    services: Services
    fake: FakeWeCom
    base: str  # the local WeCom's address


@pytest.fixture
async def stack(
    settings: Settings, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any
) -> Stack:
    """The app with a smart-robot channel at a local WeCom, a backlog merged past 10
    waiting messages, and 柳树村's cadre group with its robot KEY-1."""
    fake = FakeWeCom(clock)
    base = str((await aiohttp_server(fake.app())).make_url("")).rstrip("/")
    robot = WeComBotChannelSettings(
        type="wecom_bot",
        name="wbot",
        token=WECHAT_TOKEN,
        encoding_aes_key=WECHAT_AES_KEY,
        api_base=base,
    )
    app = create_app(
        settings.model_copy(
            update={
                "channels": [*settings.channels, robot],
                "outbox": OutboxSettings(merge_after=10),
            }
        ),
        clock,
    )
    client = await aiohttp_client(app)
    services: Services = app[SERVICES]
    await services.outbox.stop()  # driven by hand below, with the clock
    await import_registry(services.uow, read_registry(DATA / "registry.yaml"))
    async with services.uow() as store:
        await add_wecom_group(store, code="WG1", chat="CHAT1", key="KEY-1")
    return Stack(client, services, fake, base)


async def backlog(services: Services, clock: FixedClock, replies: list[Reply]) -> None:
    """Queue the replies for the cadre group, then let the robot's 3 s spacing drain them."""
    async with services.uow() as store:
        for reply in replies:
            push = Push(channel="wbot", chat_id="CHAT1", is_group=True, reply=reply)
            enqueue(store, push, clock.now(), "report")
    for _ in range(20):
        await services.outbox.run_once()
        clock.advance(3)


def digest(robot: GroupRobot, msgtype: str) -> list[str]:
    """The parts of the one message the backlog went as, set apart by rules (drawn by
    markdown_v2, a line of dashes where they are not)."""
    (message,) = robot.received
    assert message["msgtype"] == msgtype
    rule = "---" if msgtype == "markdown_v2" else SEPARATOR
    content: str = message[msgtype]["content"]
    title, *parts = content.split(f"\n\n{rule}\n\n")
    assert title.startswith("**")  # the bot's own bold still draws
    assert title.endswith("**")
    return parts


async def test_a_throttled_robots_backlog_goes_as_markdown_with_their_words_as_words(
    stack: Stack, clock: FixedClock
) -> None:
    robot = stack.fake.robot("KEY-1")
    replies = [Reply.of_text(t) for t in NOTICES]
    replies[0] = Reply.of_text(NOTICES[0], mentions=("lisi",))  # someone is asked to act
    await backlog(stack.services, clock, replies)
    parts = digest(robot, "markdown")  # `markdown`: the only one that places a mention
    *parts, mention = [*parts[:-1], *parts[-1].rsplit("\n", 1)]
    assert mention == "<@lisi>"  # the bot's own mention still reaches 李四
    assert [read(p) for p in parts] == [as_typed(t) for t in NOTICES]
    for part in parts:
        assert markup(part, **WECOM) == {}, part


async def test_with_a_table_in_it_the_backlog_goes_as_markdown_v2_the_table_drawn(
    stack: Stack, clock: FixedClock
) -> None:
    robot = stack.fake.robot("KEY-1")
    table = Reply(kind=ReplyKind.MARKDOWN, text=TABLE)
    await backlog(stack.services, clock, [table, *(Reply.of_text(t) for t in NOTICES)])
    drawn, *parts = digest(robot, "markdown_v2")
    assert drawn == TABLE  # the bot's heading and table as written
    assert [read(p) for p in parts] == [as_typed(t) for t in NOTICES]
    for part in parts:
        assert markup(part, at=False) == {}, part  # no `|` of theirs adds a cell


async def test_a_later_answer_through_the_response_url_shows_their_words_as_words(
    stack: Stack, clock: FixedClock
) -> None:
    client, services, fake = stack.client, stack.services, stack.fake
    fake.responses["RC1"] = []
    message = {
        "msgid": "m-late",
        "aibotid": "AIBOT1",
        "chattype": "group",
        "chatid": "CHAT1",
        "from": {"userid": "lisi"},
        "msgtype": "text",
        "text": {"content": "@村务助手 查进度"},
        "response_url": f"{stack.base}/cgi-bin/aibot/response?response_code=RC1",
    }
    now = int(clock.now().timestamp())
    crypto = WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, "")
    encrypt, sig = sealed(crypto, json.dumps(message, ensure_ascii=False), now)
    query = {"msg_signature": sig, "timestamp": str(now), "nonce": "n1"}
    assert (await client.post("/callback/wbot", params=query, json={"encrypt": encrypt})).ok
    words = "进度：[点我](http://evil) <@zhangsan>\n# 已办结"
    async with services.uow() as store:
        push = Push(channel="wbot", chat_id="CHAT1", is_group=True, reply=Reply.of_text(words))
        enqueue(store, push, clock.now())
    await services.outbox.run_once()
    ((answer,),) = fake.responses.values()
    assert answer["msgtype"] == "markdown"
    content = answer["markdown"]["content"]
    assert markup(content, **WECOM) == {}
    assert read(content) == as_typed(words)


def test_a_smart_robots_stream_shows_their_words_as_words_and_the_bots_markdown_drawn() -> None:
    notice = stream_content([Reply.of_text(NOTICES[0])])
    assert markup(notice, **WECOM) == {}
    assert read(notice) == as_typed(NOTICES[0])
    table = stream_content([Reply(kind=ReplyKind.MARKDOWN, text=TABLE)])
    assert table.startswith("### 本周排名\n\n1. **柳树村**")  # heading, bold: drawn
    card = Reply(kind=ReplyKind.LINK, title="通知](http://evil)", text="# 请看", url=LINK)
    assert stream_content([card]) == f"[通知］（http://evil）]({LINK})\n＃ 请看"
