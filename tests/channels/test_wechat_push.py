"""Pushes to villagers on the Official Account: customer-service messages through the outbox,
with a shared access token, against a local WeChat API over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Services, build_services
from bot.clock import FixedClock
from bot.config import Settings, WeChatChannelSettings
from bot.message import Push, Reply, ReplyKind
from bot.outbox import enqueue
from storage.models import OutboxMessage, OutboxStatus
from tests.conftest import STACKS, WECHAT_APP_ID, WECHAT_TOKEN
from tests.fakes.wechat import FakeWeChat

SECRET = "the-app-secret"
Make = Callable[..., Awaitable[Services]]


@pytest.fixture
async def fake(clock: FixedClock) -> FakeWeChat:
    return FakeWeChat(clock, WECHAT_APP_ID, SECRET)


@pytest.fixture
async def make(
    settings: Settings, clock: FixedClock, fake: FakeWeChat, aiohttp_server: Any
) -> AsyncIterator[Make]:
    server = await aiohttp_server(fake.app())
    built: list[Services] = []

    async def build(**oa_settings: str) -> Services:
        oa = WeChatChannelSettings(
            type="wechat",
            name="oa",
            token=WECHAT_TOKEN,
            app_id=WECHAT_APP_ID,
            app_secret=SECRET,
            api_base=str(server.make_url("")).rstrip("/"),
            **oa_settings,
        )
        services = build_services(settings.model_copy(update={"channels": [oa]}), clock)
        built.append(services)
        return services

    yield build
    for services in built:
        await services.http.close()
        await services.kv.close()
        await services.engine.dispose()


async def push(services: Services, openid: str, *texts: str) -> None:
    async with services.uow() as store:
        for text in texts:
            message = Push(channel="oa", chat_id=openid, is_group=False, reply=Reply.of_text(text))
            enqueue(store, message, services.clock.now(), "reply")


async def outbox(services: Services) -> list[OutboxMessage]:
    async with services.uow() as store:
        rows = await store.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return list(rows.all())


async def test_a_villager_who_wrote_gets_customer_service_messages(
    make: Make, fake: FakeWeChat
) -> None:
    services = await make()
    villager = fake.wrote("oVILLAGER001")
    await push(services, "oVILLAGER001", "您的上报已受理", "村里明天停水]]><x>")
    while await services.outbox.run_once():  # one per villager and pass, in order
        pass
    assert [m["text"]["content"] for m in villager.received] == [
        "您的上报已受理",
        "村里明天停水]]><x>",
    ]
    assert fake.token_fetches == 1  # one token for both
    assert {r.status for r in await outbox(services)} == {OutboxStatus.SENT}


async def test_a_token_the_platform_no_longer_takes_is_fetched_again(
    make: Make, fake: FakeWeChat
) -> None:
    services = await make()
    villager = fake.wrote("oV2")
    await push(services, "oV2", "第一条")
    await services.outbox.run_once()
    fake.expire_tokens()  # WeChat invalidated it (another system fetched a new one, say)
    await push(services, "oV2", "第二条")
    await services.outbox.run_once()
    assert [m["text"]["content"] for m in villager.received] == ["第一条", "第二条"]
    assert fake.token_fetches == 2
    assert (await outbox(services))[-1].attempts == 0  # refreshed within the same try


async def test_outside_the_48_hour_window_it_is_a_dead_letter_saying_why(
    make: Make, fake: FakeWeChat, clock: FixedClock
) -> None:
    services = await make()
    fake.wrote("oV3", at=clock.now() - timedelta(hours=49))
    await push(services, "oV3", "通知")
    await services.outbox.run_once()
    (row,) = await outbox(services)
    assert row.status is OutboxStatus.DEAD
    assert "45015" in row.last_error


async def test_the_quota_of_five_per_message_is_respected(make: Make, fake: FakeWeChat) -> None:
    services = await make()
    villager = fake.wrote("oV4")
    await push(services, "oV4", *(f"第{k}条" for k in range(6)))
    for _ in range(6):
        await services.outbox.run_once()
    assert len(villager.received) == 5
    assert "45047" in (await outbox(services))[-1].last_error


@pytest.mark.parametrize("settings", [STACKS[1]], indirect=True, ids=["production"])
async def test_instances_share_one_access_token_through_redis(
    make: Make, fake: FakeWeChat
) -> None:
    first, second = await make(), await make()
    villager = fake.wrote("oV5")
    await push(first, "oV5", "甲")
    await first.outbox.run_once()
    await push(second, "oV5", "乙")
    await second.outbox.run_once()
    assert [m["text"]["content"] for m in villager.received] == ["甲", "乙"]
    assert fake.token_fetches == 1


async def test_outside_the_window_a_configured_template_message_carries_it(
    make: Make, fake: FakeWeChat, clock: FixedClock
) -> None:
    services = await make(template_id="TPL-NOTICE", template_field="thing1")
    fake.templates["TPL-NOTICE"] = []
    fake.wrote("oV6", at=clock.now() - timedelta(days=5))
    await push(services, "oV6", "本周六上午村委会集中办理医保缴费")
    await services.outbox.run_once()
    (sent,) = fake.templates["TPL-NOTICE"]
    assert sent["touser"] == "oV6"
    assert sent["data"] == {"thing1": {"value": "本周六上午村委会集中办理医保缴费"}}
    (row,) = await outbox(services)
    assert row.status is OutboxStatus.SENT


async def test_a_card_goes_as_a_news_message(make: Make, fake: FakeWeChat) -> None:
    services = await make()
    villager = fake.wrote("oV7")
    card = Reply(
        kind=ReplyKind.LINK, title="医保缴费", text="本周六上午", url="https://v.example/2"
    )
    async with services.uow() as store:
        enqueue(
            store,
            Push(channel="oa", chat_id="oV7", is_group=False, reply=card),
            services.clock.now(),
        )
    await services.outbox.run_once()
    (sent,) = villager.received
    assert sent["msgtype"] == "news"
    assert sent["news"]["articles"][0] == {
        "title": "医保缴费",
        "description": "本周六上午",
        "url": "https://v.example/2",
        "picurl": "",
    }


async def test_markdown_arrives_as_plain_text_and_a_photo_as_the_link_in_it(
    make: Make, fake: FakeWeChat
) -> None:
    services = await make()
    villager = fake.wrote("oV8")
    replies = [
        Reply(
            kind=ReplyKind.MARKDOWN,
            text="**以下 2 条消息合并发送**\n\n---\n\n### 停水\n\n- 周一 8:00\n- 周二 9:00",
        ),
        Reply(text="【随手拍 #3】照片：https://v.example/media/ab.png", image="ab.png"),
    ]
    async with services.uow() as store:
        for reply in replies:
            push = Push(channel="oa", chat_id="oV8", is_group=False, reply=reply)
            enqueue(store, push, services.clock.now())
    for _ in range(2):
        await services.outbox.run_once()
    assert [m["msgtype"] for m in villager.received] == ["text", "text"]  # no image message
    assert [m["text"]["content"] for m in villager.received] == [
        "以下 2 条消息合并发送\n\n——————\n\n停水\n\n· 周一 8:00\n· 周二 9:00",
        "【随手拍 #3】照片：https://v.example/media/ab.png",
    ]
