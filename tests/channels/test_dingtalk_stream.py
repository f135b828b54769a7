"""DingTalk Stream mode: the bot opens DingTalk's WebSocket (here a local one speaking the
documented frames), ACKs every frame, and answers through the message's session webhook."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.app import SERVICES, Services, create_app
from bot.clock import FixedClock
from bot.config import DingTalkChannelSettings, Settings
from bot.i18n import Translations
from tests.channels.dingtalk_support import body, text_payload
from tests.conftest import DINGTALK_APP_KEY, DINGTALK_APP_SECRET
from tests.fakes.dingtalk import FakeDingTalk

ZH = Translations().for_locale("zh_CN")
TOPIC = "/v1.0/im/bot/messages/get"


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@dataclass
class Streaming:
    fake: FakeDingTalk
    base: str  # the local DingTalk's URL
    services: Services


@pytest.fixture
async def streaming(
    settings: Settings, clock: FixedClock, aiohttp_server: Any, aiohttp_client: Any
) -> Streaming:
    """The app with its DingTalk channel in Stream mode, connected to a local DingTalk."""
    fake = FakeDingTalk(clock)
    server = await aiohttp_server(fake.app())
    base = str(server.make_url("")).rstrip("/")
    ding = DingTalkChannelSettings(
        type="dingtalk",
        name="ding",
        mode="stream",
        app_key=DINGTALK_APP_KEY,
        app_secret=DINGTALK_APP_SECRET,
        api_base=base,
        oapi_base=base,
    )
    channels = [*(c for c in settings.channels if c.name != "ding"), ding]
    app = create_app(settings.model_copy(update={"channels": channels}), clock)
    await aiohttp_client(app)  # starts the app: its stream connects
    await eventually(lambda: len(fake.streams) == 1)
    return Streaming(fake, base, app[SERVICES])


async def test_a_message_over_the_stream_is_acked_and_answered(
    streaming: Streaming, clock: FixedClock
) -> None:
    fake, base, services = streaming.fake, streaming.base, streaming.services

    fake.sessions["S1"] = []
    at = int(clock.now().timestamp() * 1000)
    payload = text_payload("帮助", "stream-1", at)
    payload["sessionWebhook"] = f"{base}/robot/sendBySession?session=S1"
    await fake.frame("CALLBACK", TOPIC, "m-1", payload)
    await eventually(lambda: any(a["headers"]["messageId"] == "m-1" for a in fake.acks))
    ack = next(a for a in fake.acks if a["headers"]["messageId"] == "m-1")
    assert (ack["code"], ack["message"]) == (200, "OK")
    await eventually(lambda: bool(fake.sessions["S1"]))
    answer = fake.sessions["S1"][0]
    assert answer["text"]["content"].startswith(ZH.t("help.title.guest"))

    # DingTalk redelivers a frame it thinks was not ACKed: answered once all the same
    await fake.frame("CALLBACK", TOPIC, "m-1-again", payload)
    await eventually(lambda: any(a["headers"]["messageId"] == "m-1-again" for a in fake.acks))
    await services.tasks.drain()
    await asyncio.sleep(0.3)
    assert len(fake.sessions["S1"]) == 1

    # a ping is answered with its own data; a disconnect request makes the bot reconnect
    await fake.frame("SYSTEM", "ping", "p-1", {"opaque": "x"})
    await eventually(lambda: any(a["headers"]["messageId"] == "p-1" for a in fake.acks))
    pong = next(a for a in fake.acks if a["headers"]["messageId"] == "p-1")
    assert pong["data"] == '{"opaque": "x"}'
    await fake.frame("SYSTEM", "disconnect", "d-1", {})
    await eventually(lambda: len(fake.streams) == 2)


async def test_a_bad_frame_is_dropped_without_breaking_the_stream(streaming: Streaming) -> None:
    fake = streaming.fake
    await fake.streams[-1].send_str("{not json")
    await fake.frame("CALLBACK", TOPIC, "bad-1", {"msgtype": "text"})  # no msgId, no sender
    await eventually(lambda: any(a["headers"]["messageId"] == "bad-1" for a in fake.acks))
    await fake.frame("SYSTEM", "ping", "p-2", {})
    await eventually(lambda: any(a["headers"]["messageId"] == "p-2" for a in fake.acks))
    assert len(fake.streams) == 1  # still the same connection


async def test_garbage_frames_do_not_stop_the_next_good_message(
    streaming: Streaming, clock: FixedClock
) -> None:
    fake, base = streaming.fake, streaming.base
    fake.sessions["S2"] = []
    at = int(clock.now().timestamp() * 1000)
    good = text_payload("帮助", "after-garbage", at)
    good["sessionWebhook"] = f"{base}/robot/sendBySession?session=S2"
    await fake.streams[-1].send_str('{"headers": ' * 50_000)  # nested past any stack
    await fake.streams[-1].send_str('{"type": "CALLBACK", "headers": {}}')  # no messageId
    spoiled = body(text_payload("帮助", "g-1", at)).decode()
    await fake.frame_of_text("CALLBACK", TOPIC, "g-1", spoiled.replace(str(at), "1e400", 1))
    await fake.frame("CALLBACK", TOPIC, "g-2", {**good, "msgId": "g-2", "createAt": 10**20})
    await fake.frame("CALLBACK", TOPIC, "g-3", {**good, "sessionWebhookExpiredTime": "soon"})
    await fake.frame_of_text("CALLBACK", TOPIC, "g-4", '{"a":' * 5000 + "1" + "}" * 5000)
    await fake.frame("CALLBACK", TOPIC, "good", good)
    await eventually(lambda: bool(fake.sessions["S2"]))
    assert fake.sessions["S2"][0]["text"]["content"].startswith(ZH.t("help.title.guest"))
    acked = {a["headers"]["messageId"] for a in fake.acks}
    assert {"g-1", "g-2", "g-3", "g-4", "good"} <= acked  # DingTalk need not resend them
    assert len(fake.streams) == 1  # still the same connection
    assert len(fake.sessions["S2"]) == 1  # only the good message was answered
