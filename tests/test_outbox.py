"""The outbox, through the DingTalk channel, against a local DingTalk over real HTTP (and
through a WeCom group robot, which takes pictures, against a local WeCom)."""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import SERVICES, Services, build_services, create_app
from bot.channels.dingtalk import DingTalkChannel
from bot.channels.render import SEPARATOR
from bot.clock import FixedClock
from bot.config import DingTalkChannelSettings, OutboxSettings, Settings, WeComBotChannelSettings
from bot.media import MediaError
from bot.message import MediaRef, Push, Reply, ReplyKind
from bot.outbox import URGENT, SendError, enqueue
from storage.importer import import_registry, read_registry
from storage.models import (
    ChatPurpose,
    GroupChat,
    OrgUnit,
    OutboxMessage,
    OutboxStatus,
    Role,
    RoleAssignment,
)
from tests.channels.dingtalk_support import body, headers, text_payload
from tests.channels.markdown_reader import HOSTILE, as_typed, markup, read
from tests.conftest import STACKS, WECHAT_AES_KEY, WECHAT_TOKEN
from tests.factories import add_wecom_group, png
from tests.fakes.dingtalk import FakeDingTalk, Robot
from tests.fakes.wecom import FakeWeCom

REGISTRY = Path(__file__).parent / "data" / "registry.yaml"
APP_SECRET = "testAppSecret_village"


@pytest.fixture
async def fake(clock: FixedClock) -> FakeDingTalk:
    return FakeDingTalk(clock)


@pytest.fixture
async def fake_url(fake: FakeDingTalk, aiohttp_server: Any) -> str:
    server = await aiohttp_server(fake.app())
    return str(server.make_url("")).rstrip("/")


def with_dingtalk(settings: Settings, fake_url: str, **outbox: Any) -> Settings:
    ding = DingTalkChannelSettings(
        type="dingtalk",
        name="ding",
        app_key="dingAPPKEY",
        app_secret=APP_SECRET,
        oapi_base=fake_url,
        api_base=fake_url,
    )
    return settings.model_copy(
        update={
            "channels": [*(c for c in settings.channels if c.name != "ding"), ding],
            "outbox": OutboxSettings(**{"batch": 1000, **outbox}),
        }
    )


Make = Callable[..., Awaitable[Services]]


@pytest.fixture
async def make_stack(settings: Settings, fake_url: str, clock: FixedClock) -> AsyncIterator[Make]:
    """Build the bot's services (as `serve` does, without starting its worker)."""
    built: list[Services] = []

    async def make(**outbox: Any) -> Services:
        services = build_services(with_dingtalk(settings, fake_url, **outbox), clock)
        built.append(services)
        return services

    yield make
    for services in built:
        await services.http.close()
        await services.kv.close()
        await services.engine.dispose()


@pytest.fixture
async def stack(make_stack: Make) -> Services:
    services = await make_stack()
    await import_registry(services.uow, read_registry(REGISTRY))
    return services


async def add_groups(
    services: Services, fake: FakeDingTalk, n: int, *, signed: bool = True
) -> list[Robot]:
    """n DingTalk group chats of the test village, each with its custom robot."""
    robots = []
    async with services.uow() as store:
        village = await store.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "V1"))
        assert village is not None
        for i in range(n):
            robot = fake.robot(f"tok{i}", f"SEC{i:04d}secret" if signed else "")
            robots.append(robot)
            store.session.add(
                GroupChat(
                    code=f"DG{i}",
                    name=f"钉钉群{i}",
                    channel="ding",
                    external_id=f"cid{i}",
                    org_unit_id=village,
                    purpose=ChatPurpose.CADRES,
                    robot_token=robot.token,
                    robot_secret=robot.secret,
                )
            )
    return robots


async def push(services: Services, texts: dict[str, list[str]]) -> None:
    """Queue texts per group chat, in one transaction (as a handler or a sweep does)."""
    async with services.uow() as store:
        for chat, lines in texts.items():
            for text in lines:
                message = Push(
                    channel="ding", chat_id=chat, is_group=True, reply=Reply.of_text(text)
                )
                enqueue(store, message, services.clock.now(), "notice")


async def rows(services: Services) -> list[OutboxMessage]:
    async with services.uow() as store:
        found = await store.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return list(found.all())


async def drain(services: Services, clock: FixedClock, step: float, passes: int) -> int:
    """Run the worker pass after pass, the clock moving `step` seconds between them, until
    nothing is pending; how many passes it took."""
    for n in range(1, passes + 1):
        await services.outbox.run_once()
        if not [r for r in await rows(services) if r.status is OutboxStatus.PENDING]:
            return n
        clock.advance(step)
    raise AssertionError(f"still pending after {passes} passes")


async def test_fan_out_to_200_groups_delivers_everything_within_the_limit(
    stack: Services, fake: FakeDingTalk, clock: FixedClock
) -> None:
    robots = await add_groups(stack, fake, 200)
    await push(stack, {f"cid{i}": [f"停水通知 {i}", f"请回复已学习 {i}"] for i in range(200)})
    passes = await drain(stack, clock, step=3.0, passes=10)
    assert passes <= 3  # one message per robot every 3 seconds, all robots in parallel
    for i, robot in enumerate(robots):
        assert robot.texts() == [f"停水通知 {i}", f"请回复已学习 {i}"]  # in order, once
        assert robot.throttled == 0
    assert {r.status for r in await rows(stack)} == {OutboxStatus.SENT}
    assert all(r.answer == "errcode 0: ok" for r in await rows(stack))


async def test_one_robot_never_gets_more_than_20_a_minute(
    stack: Services, fake: FakeDingTalk, clock: FixedClock
) -> None:
    (robot,) = await add_groups(stack, fake, 1)
    texts = [f"第{k}条" for k in range(30)]
    await push(stack, {"cid0": texts})
    await drain(stack, clock, step=1.0, passes=200)
    assert robot.texts() == texts
    assert robot.throttled == 0
    sent = [r.sent_at for r in await rows(stack)]
    assert all(
        b is not None and a is not None and (b - a).total_seconds() >= 3
        for a, b in itertools.pairwise(sent)
    )


async def test_a_banned_robot_waits_out_its_ban_without_holding_up_others(
    stack: Services, fake: FakeDingTalk, clock: FixedClock
) -> None:
    banned, other = await add_groups(stack, fake, 2)
    banned.banned_until = clock.now() + timedelta(minutes=10)
    await push(stack, {"cid0": ["早上的通知", "下午的通知"], "cid1": ["给二组的通知"]})
    await stack.outbox.run_once()
    assert other.texts() == ["给二组的通知"]
    assert banned.texts() == []
    assert banned.throttled == 1
    pending = [r for r in await rows(stack) if r.status is OutboxStatus.PENDING]
    assert len(pending) == 2
    assert all(r.attempts == 0 for r in pending)  # a throttle is not a failed try
    assert "130101" in pending[0].last_error
    clock.advance(300)
    await stack.outbox.run_once()
    assert banned.throttled == 1  # the worker did not knock while the ban lasted
    await drain(stack, clock, step=3.0, passes=300)
    assert banned.texts() == ["早上的通知", "下午的通知"]


async def test_transient_errors_are_retried_with_backoff(
    stack: Services, fake: FakeDingTalk, clock: FixedClock
) -> None:
    (robot,) = await add_groups(stack, fake, 1)
    robot.fail_next = [(502, {"error": "bad gateway"}), (500, {"error": "oops"})]
    await push(stack, {"cid0": ["村民大会通知"]})
    await stack.outbox.run_once()
    (row,) = await rows(stack)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.PENDING, 1, "HTTP 502")
    first_wait = (row.not_before - clock.now()).total_seconds()
    assert 2.5 <= first_wait <= 5.0  # 5 s, less up to half by jitter
    await stack.outbox.run_once()  # not due yet: nothing happens
    assert robot.texts() == []
    clock.advance(max(first_wait, 3.0) + 0.001)  # past the backoff and the robot's 3 s
    await stack.outbox.run_once()
    (row,) = await rows(stack)
    assert (row.attempts, row.last_error) == (2, "HTTP 500")
    assert 5.0 <= (row.not_before - clock.now()).total_seconds() <= 10.0  # doubled
    await drain(stack, clock, step=10.0, passes=5)
    assert robot.texts() == ["村民大会通知"]


async def test_permanent_errors_and_exhausted_retries_become_dead_letters_that_can_be_retried(
    make_stack: Make, fake: FakeDingTalk, clock: FixedClock
) -> None:
    stack = await make_stack(max_attempts=3)
    await import_registry(stack.uow, read_registry(REGISTRY))
    gone, flaky = await add_groups(stack, fake, 2)
    async with stack.uow() as store:  # 周镇长 is also the admin, on the simulator
        admin = (await store.people.matching("周镇长", "7777"))[0]
        county = await store.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "C1"))
        assert county is not None
        store.session.add(RoleAssignment(person_id=admin.id, org_unit_id=county, role=Role.ADMIN))
        await store.identities.bind("sim", "admin-1", admin.id, by="import", at=clock.now())
    del fake.robots[gone.token]  # the group's robot was removed on DingTalk
    flaky.fail_next = [(503, {})] * 3
    await push(stack, {"cid0": ["给已解散的群"], "cid1": ["给不稳定的群"]})
    for _ in range(6):
        await stack.outbox.run_once()
        clock.advance(60)
    alerts = [r for r in await rows(stack) if r.target == "admin-1"]
    assert len(alerts) == 2  # one per pass that had dead letters, not one per dead letter
    assert {a.status for a in alerts} == {OutboxStatus.SENT}  # shown to the admin
    assert "villagebot outbox retry" in alerts[0].reply["text"]
    assert "300001" in alerts[0].reply["text"]
    dead = {r.target: r for r in await rows(stack) if r.target != "admin-1"}
    assert dead["cid0"].status is OutboxStatus.DEAD
    assert "300001" in dead["cid0"].last_error
    assert dead["cid1"].status is OutboxStatus.DEAD
    assert dead["cid1"].last_error == "HTTP 503 (after 3 tries)"
    # the operator fixes the robot and retries the dead letters
    fake.robots[gone.token] = gone
    async with stack.uow() as store:
        assert await store.outbox.retry(None, now=clock.now()) == 2
    await drain(stack, clock, step=3.0, passes=5)
    assert gone.texts() == ["给已解散的群"]
    assert flaky.texts() == ["给不稳定的群"]


async def test_a_worker_that_dies_mid_fan_out_leaves_nothing_undelivered(
    stack: Services, fake: FakeDingTalk, clock: FixedClock
) -> None:
    robots = await add_groups(stack, fake, 50)
    await push(stack, {f"cid{i}": [f"通知 {i}"] for i in range(50)})
    # a worker claims half of them and dies before sending (its claim is left behind)
    async with stack.uow() as store:
        until = clock.now() + timedelta(seconds=120)
        lost = await store.outbox.claim(now=clock.now(), until=until, token="dead", limit=25)
    assert len(lost) == 25
    await stack.outbox.run_once()  # a new worker sends the rest at once…
    assert sum(len(r.texts()) for r in robots) == 25
    clock.advance(121)  # …and the dead worker's claims once they run out
    await drain(stack, clock, step=3.0, passes=5)
    assert [r.texts() for r in robots] == [[f"通知 {i}"] for i in range(50)]


async def test_a_long_backlog_for_a_throttled_robot_is_merged_into_one_digest(
    make_stack: Make, fake: FakeDingTalk, clock: FixedClock
) -> None:
    stack = await make_stack(merge_after=10)
    await import_registry(stack.uow, read_registry(REGISTRY))
    (robot,) = await add_groups(stack, fake, 1)
    texts = [f"提醒{k}" for k in range(25)]
    await push(stack, {"cid0": texts})
    await drain(stack, clock, step=3.0, passes=20)
    assert len(robot.received) == 1
    (digest,) = robot.received
    assert digest["msgtype"] == "markdown"
    # DingTalk draws no rules: the parts are set apart by a line of dashes
    title, *parts = digest["markdown"]["text"].split(f"\n\n{SEPARATOR}\n\n")
    assert parts == texts  # every reminder, in order
    assert "25" in title
    statuses = [r.status for r in await rows(stack)]
    assert statuses.count(OutboxStatus.SENT) == 1
    assert statuses.count(OutboxStatus.MERGED) == 24


async def test_a_merged_backlog_shows_villagers_words_as_words(
    make_stack: Make, fake: FakeDingTalk, clock: FixedClock
) -> None:
    """Report notices quoting what villagers wrote wait for a throttled robot and go as one
    markdown digest: the group reads their words, and nothing of them is drawn as a link,
    a picture, a heading, a quote, a table or an @mention."""
    stack = await make_stack(merge_after=10)
    await import_registry(stack.uow, read_registry(REGISTRY))
    (robot,) = await add_groups(stack, fake, 1)
    photo = "【随手拍 #7】路灯坏了\n照片：https://v.example/media/ab_cd.jpg"
    texts = [f"【随手拍 #{k}】{words}" for k, words in enumerate(HOSTILE)] + [photo]
    await push(stack, {"cid0": texts})
    await drain(stack, clock, step=3.0, passes=20)
    (digest,) = robot.received
    assert digest["msgtype"] == "markdown"
    title, *parts = digest["markdown"]["text"].split(f"\n\n{SEPARATOR}\n\n")
    assert title.startswith("**")  # the bot's own bold still draws
    assert title.endswith("**")
    assert [read(p) for p in parts] == [as_typed(t) for t in texts]  # every word, in order
    for part in parts:
        assert markup(part) == {}, part
    assert parts[-1].endswith("照片：https://v.example/media/ab_cd.jpg")  # the link opens


@pytest.mark.parametrize("settings", [STACKS[1]], indirect=True, ids=["production"])
async def test_two_workers_on_postgresql_never_send_a_row_twice(
    make_stack: Make, fake: FakeDingTalk, clock: FixedClock
) -> None:
    first, second = await make_stack(batch=40), await make_stack(batch=40)
    await import_registry(first.uow, read_registry(REGISTRY))
    robots = await add_groups(first, fake, 120)
    await push(first, {f"cid{i}": [f"甲 {i}", f"乙 {i}"] for i in range(120)})
    for _ in range(20):
        await asyncio.gather(*(w.outbox.run_once() for w in (first, second, first, second)))
        clock.advance(3)
    assert [r.texts() for r in robots] == [[f"甲 {i}", f"乙 {i}"] for i in range(120)]
    assert all(r.throttled == 0 for r in robots)


async def test_a_digest_is_split_before_it_grows_too_long(
    make_stack: Make, fake: FakeDingTalk, clock: FixedClock
) -> None:
    stack = await make_stack(merge_after=10)
    await import_registry(stack.uow, read_registry(REGISTRY))
    (robot,) = await add_groups(stack, fake, 1)
    texts = [f"长通知{k}：" + "村里道路维修，请绕行。" * 30 for k in range(30)]  # ~330 chars each
    await push(stack, {"cid0": texts})
    await drain(stack, clock, step=3.0, passes=50)
    assert len(robot.received) > 1
    delivered = [p for m in robot.texts() for p in m.split(f"\n\n{SEPARATOR}\n\n")[1:]]
    assert delivered == texts
    assert all(len(m) < 4000 for m in robot.texts())


async def test_pushes_to_a_one_to_one_chat_use_the_session_webhook_of_its_last_message(
    settings: Settings, fake: FakeDingTalk, fake_url: str, clock: FixedClock, aiohttp_client: Any
) -> None:
    app = create_app(with_dingtalk(settings, fake_url), clock)
    client = await aiohttp_client(app)
    services: Services = app[SERVICES]
    await services.outbox.stop()  # driven by hand below
    fake.sessions["S1"] = []
    fake.api_messages["user002"] = []
    at = int(clock.now().timestamp() * 1000)
    for staff, session_url in [
        ("user001", f"{fake_url}/robot/sendBySession?session=S1"),
        ("user002", "https://elsewhere.example/robot/sendBySession?session=S2"),  # not DingTalk
    ]:
        payload = text_payload("你好", f"m-{staff}", at, staff=staff)
        payload["sessionWebhook"] = session_url
        resp = await client.post(
            "/callback/ding", data=body(payload), headers=headers(at, APP_SECRET)
        )
        assert resp.status == 200
    async with services.uow() as store:
        for staff in ("user001", "user002"):
            message = Push(
                channel="ding",
                chat_id=staff,
                is_group=False,
                reply=Reply.of_text("您的上报已处理"),
            )
            enqueue(store, message, clock.now(), "notice")
    await services.outbox.run_once()
    assert [m["text"]["content"] for m in fake.sessions["S1"]] == ["您的上报已处理"]
    by_target = {r.target: r for r in await rows(services)}
    assert by_target["user001"].status is OutboxStatus.SENT
    # the foreign "session webhook" was never used: user002 is reached through the API
    assert by_target["user002"].status is OutboxStatus.SENT
    assert fake.api_messages["user002"] == [{"content": "您的上报已处理"}]


async def test_a_picture_a_person_sent_is_downloaded_by_its_code(
    stack: Services, fake: FakeDingTalk
) -> None:
    channel = stack.channels["ding"]
    assert isinstance(channel, DingTalkChannel)
    fake.files["DLCODE1"] = b"\x89PNG\r\n\x1a\n a photo of a broken street light"
    fake.files["HUGE"] = b"\xff\xd8\xff" + b"0" * (10 * 1024 * 1024)
    assert await channel.download(MediaRef(media_id="DLCODE1")) == fake.files["DLCODE1"]
    fake.tokens.clear()  # DingTalk no longer takes the token: fetched again, once
    assert await channel.download(MediaRef(media_id="DLCODE1")) == fake.files["DLCODE1"]
    assert fake.token_fetches == 2
    with pytest.raises(MediaError):
        await channel.download(MediaRef(media_id="HUGE"))
    with pytest.raises(SendError):
        await channel.download(MediaRef(media_id="NO-SUCH-CODE"))


async def test_without_a_session_or_a_custom_robot_the_app_robots_api_is_used(
    stack: Services, fake: FakeDingTalk
) -> None:
    fake.api_messages["cidNoRobot=="] = []
    fake.api_messages["user003"] = []
    async with stack.uow() as store:
        for chat, is_group in [("cidNoRobot==", True), ("user003", False), ("user404", False)]:
            message = Push(
                channel="ding",
                chat_id=chat,
                is_group=is_group,
                reply=Reply.of_text(f"通知 {chat}"),
            )
            enqueue(store, message, stack.clock.now(), "notice")
    await stack.outbox.run_once()
    assert fake.api_messages["cidNoRobot=="] == [{"content": "通知 cidNoRobot=="}]
    assert fake.api_messages["user003"] == [{"content": "通知 user003"}]
    by_target = {r.target: r for r in await rows(stack)}
    assert by_target["user003"].answer.startswith("processQueryKey")
    assert by_target["user404"].status is OutboxStatus.DEAD
    assert "resource.not.found" in by_target["user404"].last_error
    assert fake.token_fetches == 1


async def test_an_urgent_alert_overtakes_what_waits_for_a_throttled_robot(
    stack: Services, fake: FakeDingTalk, clock: FixedClock
) -> None:
    """Five notices wait their turn at a robot's 3-second spacing; an SOS queued after them
    is the next message the group gets."""
    (robot,) = await add_groups(stack, fake, 1)
    await push(stack, {"cid0": [f"通知{k}" for k in range(5)]})
    await stack.outbox.run_once()  # the first notice goes; the robot must wait 3 s
    async with stack.uow() as store:
        sos = Push(channel="ding", chat_id="cid0", is_group=True, reply=Reply.of_text("紧急求助"))
        enqueue(store, sos, clock.now(), URGENT)
    await drain(stack, clock, step=3.0, passes=10)
    assert robot.texts() == ["通知0", "紧急求助", "通知1", "通知2", "通知3", "通知4"]


async def test_a_push_held_for_later_is_not_pulled_into_a_digest_early(
    make_stack: Make, fake: FakeDingTalk, clock: FixedClock
) -> None:
    """Tomorrow morning's news (held through quiet hours) queued among a long backlog: the
    backlog goes as one digest now, the news alone in the morning."""
    stack = await make_stack(merge_after=10)
    await import_registry(stack.uow, read_registry(REGISTRY))
    (robot,) = await add_groups(stack, fake, 1)
    texts = [f"提醒{k}" for k in range(12)]
    morning = clock.now() + timedelta(hours=8)
    async with stack.uow() as store:
        for k, text in enumerate(texts):
            enqueue(store, group_push("cid0", Reply.of_text(text)), clock.now(), "notice")
            if k == 5:
                news = group_push("cid0", Reply.of_text("明早的通知"))
                enqueue(store, news, clock.now(), "notice", not_before=morning)
    for _ in range(5):
        await stack.outbox.run_once()
        clock.advance(3)
    (digest,) = robot.received
    assert digest["markdown"]["text"].split(f"\n\n{SEPARATOR}\n\n")[1:] == texts
    clock.set(morning)
    await stack.outbox.run_once()
    assert robot.texts()[1:] == ["明早的通知"]


def group_push(chat: str, reply: Reply, channel: str = "ding") -> Push:
    return Push(channel=channel, chat_id=chat, is_group=True, reply=reply)


@pytest.fixture
async def wecom_stack(
    settings: Settings, clock: FixedClock, aiohttp_server: Any
) -> AsyncIterator[tuple[Services, FakeWeCom]]:
    """The bot's services with a WeCom smart-robot channel at a local WeCom (its group pushes
    go through the group's robot), a backlog merged past 10 waiting messages, the registry."""
    wecom = FakeWeCom(clock)
    base = str((await aiohttp_server(wecom.app())).make_url("")).rstrip("/")
    channel = WeComBotChannelSettings(
        type="wecom_bot",
        name="wbot",
        token=WECHAT_TOKEN,
        encoding_aes_key=WECHAT_AES_KEY,
        api_base=base,
    )
    update = {
        "channels": [*settings.channels, channel],
        "outbox": OutboxSettings(batch=1000, merge_after=10),
    }
    services = build_services(settings.model_copy(update=update), clock)
    await import_registry(services.uow, read_registry(REGISTRY))
    yield services, wecom
    await services.http.close()
    await services.kv.close()
    await services.engine.dispose()


async def test_a_picture_and_a_card_in_a_merged_backlog_go_as_themselves_in_their_turn(
    wecom_stack: tuple[Services, FakeWeCom], clock: FixedClock
) -> None:
    """A long backlog for a group robot holds a picture, a card and a report with its photo
    among the texts: the texts between them go as digests, and the picture, the card and
    the report's photo reach the group as a picture, a card and a picture, all in the order
    they were queued."""
    services, wecom = wecom_stack
    robot = wecom.robot("KEY-1")
    photo = await services.media.save_image(png())
    async with services.uow() as store:
        await add_wecom_group(store, code="WG1", chat="CHAT1", key="KEY-1")
    runs = [[f"{word}{k}" for k in range(12)] for word in ("提醒", "通知", "安排", "公告")]
    picture = Reply(kind=ReplyKind.IMAGE, image=photo.name)
    card = Reply(
        kind=ReplyKind.LINK, title="停水通知", text="周一 8:00-12:00", url="https://v.example/n/1"
    )
    report = Reply(  # a report told to the group with its photo: the photo goes after it
        kind=ReplyKind.TEXT,
        text=f"【随手拍 #3】路灯坏了\n照片：https://v.example/media/{photo.name}",
        image=photo.name,
    )
    async with services.uow() as store:
        for run, between in zip(runs, (picture, card, report, None), strict=True):
            for text in run:
                enqueue(store, group_push("CHAT1", Reply.of_text(text), "wbot"), clock.now())
            if between is not None:
                enqueue(store, group_push("CHAT1", between, "wbot"), clock.now())
    await drain(services, clock, step=3.0, passes=50)
    kinds = [m["msgtype"] for m in robot.received]
    assert kinds == [
        "markdown",
        "image",
        "markdown",
        "news",
        "markdown",
        "text",
        "image",
        "markdown",
    ]
    digests = [m["markdown"]["content"] for m in robot.received if m["msgtype"] == "markdown"]
    assert [d.split(f"\n\n{SEPARATOR}\n\n")[1:] for d in digests] == runs  # every text, in order
    pictures = [
        base64.b64decode(m["image"]["base64"]) for m in robot.received if m["msgtype"] == "image"
    ]
    assert pictures == [png(), png()]  # the picture pushed, then the report's photo
    (news,) = (m["news"]["articles"] for m in robot.received if m["msgtype"] == "news")
    assert news == [
        {"title": "停水通知", "description": "周一 8:00-12:00", "url": "https://v.example/n/1"}
    ]
    (said,) = (m["text"]["content"] for m in robot.received if m["msgtype"] == "text")
    assert said == report.text
    statuses = [r.status for r in await rows(services)]
    assert statuses.count(OutboxStatus.SENT) == 7  # four digests, the picture, card and report
    assert statuses.count(OutboxStatus.MERGED) == 4 * 11


async def test_an_urgent_alert_in_a_long_backlog_is_sent_as_itself(
    make_stack: Make, fake: FakeDingTalk, clock: FixedClock
) -> None:
    """A backlog long enough to be merged, and an SOS queued behind it: the group reads the
    SOS as its own message, first; the backlog goes as a digest after it."""
    stack = await make_stack(merge_after=10)
    await import_registry(stack.uow, read_registry(REGISTRY))
    (robot,) = await add_groups(stack, fake, 1)
    await push(stack, {"cid0": [f"提醒{k}" for k in range(15)]})
    async with stack.uow() as store:
        sos = Push(channel="ding", chat_id="cid0", is_group=True, reply=Reply.of_text("紧急求助"))
        enqueue(store, sos, clock.now(), URGENT)
    await drain(stack, clock, step=3.0, passes=10)
    first, digest, *_ = robot.received
    assert first["msgtype"] == "text"
    assert first["text"]["content"] == "紧急求助"
    assert digest["msgtype"] == "markdown"
    assert "紧急求助" not in digest["markdown"]["text"]
