"""Photos a villager sends the Official Account: fetched from a local WeChat by their MediaId
(media/get) while the callback is answered, checked and kept with the 随手拍 report; and the
report's whole life from there, the cadres acting in the simulator's cadre group and the
villager hearing back by customer-service message.

Callbacks are built as WeChat builds them (tests/wechat_support.py); the account has an app
secret and its API base at the fake, so the access token and the file come over real HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import SERVICES, Services, create_app
from bot.clock import FixedClock
from bot.config import Settings, WeChatChannelSettings
from bot.i18n import Translations
from bot.media import MAX_BYTES
from storage.importer import import_registry, read_registry
from storage.models import Report, ReportPhoto, ReportStatus
from tests import sim_support as sim
from tests.conftest import DATA, WECHAT_APP_ID
from tests.factories import png
from tests.fakes.wechat import FakeWeChat
from tests.wechat_support import (
    AES,
    OA_ID,
    PLAIN,
    deliver,
    message_xml,
    open_reply,
    text_xml,
    voice_xml,
)

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
SECRET = "the-app-secret"
VILLAGER = "oWANGXIUYING"  # bound to 王秀英 (P1, grid G1 of 柳树村) in each test
BOTH_MODES = pytest.mark.parametrize("channel", [PLAIN, AES])
CADRES = "g-v1-cadres"


@pytest.fixture
async def fake(clock: FixedClock) -> FakeWeChat:
    return FakeWeChat(clock, WECHAT_APP_ID, SECRET)


@pytest.fixture
async def oa(
    settings: Settings,
    clock: FixedClock,
    fake: FakeWeChat,
    aiohttp_server: Any,
    aiohttp_client: Any,
) -> Client:
    """The app with both Official Account channels able to call the fake WeChat API."""
    server = await aiohttp_server(fake.app())
    base = str(server.make_url("")).rstrip("/")
    channels = [
        c.model_copy(update={"app_secret": SECRET, "api_base": base})
        if isinstance(c, WeChatChannelSettings)
        else c
        for c in settings.channels
    ]
    app = create_app(settings.model_copy(update={"channels": channels}), clock)
    client: Client = await aiohttp_client(app)
    return client


@pytest.fixture
async def villager(oa: Client, clock: FixedClock) -> str:
    """The test registry, and 王秀英 binding her WeChat account as a villager does: 绑定, her
    name and the end of her phone number (on both accounts)."""
    await import_registry(services_of(oa).uow, read_registry(DATA / "registry.yaml"))
    for channel in (PLAIN, AES):
        (answer,) = await say(oa, clock, channel, "绑定 王秀英 1111")
        assert answer == ZH.t("bind.ok", name="王秀英")
    return VILLAGER


def services_of(client: Client) -> Services:
    found: Services = client.app[SERVICES]
    return found


_ids = iter(range(7_100_000_000_000_000_000, 7_200_000_000_000_000_000))


def tick(clock: FixedClock) -> int:
    """A second later, as a person types: the CreateTime of their next message."""
    clock.advance(1)
    return int(clock.now().timestamp())


async def answers(resp: ClientResponse, channel: str) -> list[str]:
    """What the villager reads: the passive reply's text, or nothing ("success")."""
    if await resp.text() == "success":
        return []
    return [(await open_reply(resp, channel))["Content"]]


async def say(client: Client, clock: FixedClock, channel: str, text: str) -> list[str]:
    at = tick(clock)
    xml = text_xml(text, next(_ids), openid=VILLAGER, at=at)
    return await answers(await deliver(client, channel, xml, at), channel)


async def send_image(client: Client, clock: FixedClock, channel: str, media_id: str) -> list[str]:
    """An image message as WeChat sends it: its CDN PicUrl and the MediaId to fetch it by."""
    at = tick(clock)
    xml = message_xml(
        {
            "ToUserName": OA_ID,
            "FromUserName": VILLAGER,
            "CreateTime": at,
            "MsgType": "image",
            "PicUrl": f"http://mmbiz.qpic.cn/mmbiz_jpg/{media_id}/0",
            "MediaId": media_id,
            "MsgId": next(_ids),
        }
    )
    return await answers(await deliver(client, channel, xml, at), channel)


async def stored(client: Client) -> tuple[list[Report], list[ReportPhoto]]:
    async with services_of(client).uow() as store:
        reports = (await store.session.scalars(select(Report).order_by(Report.id))).all()
        photos = (await store.session.scalars(select(ReportPhoto).order_by(ReportPhoto.id))).all()
    return list(reports), list(photos)


def received(report: Report) -> str:
    """The answer to 一组水渠堵了 from 王秀英: grid G1 has no grid worker, so the secretary."""
    return ZH.t(
        "report.received",
        number=report.id,
        category="水利设施",
        role=ZH.t("role.village_secretary"),
    )


@BOTH_MODES
async def test_a_photo_then_words_make_a_report_keeping_the_photo(
    oa: Client, clock: FixedClock, fake: FakeWeChat, villager: str, channel: str
) -> None:
    fake.media["MEDIA-DITCH"] = png()
    assert await send_image(oa, clock, channel, "MEDIA-DITCH") == [ZH.t("report.photo_received")]
    assert await stored(oa) == ([], [])  # it waits for her words
    (answer,) = await say(oa, clock, channel, "一组水渠堵了")
    (report,), (photo,) = await stored(oa)
    assert answer == received(report)
    assert report.category == "水利设施"
    assert (photo.report_id, photo.proof) == (report.id, False)
    assert services_of(oa).media.path(photo.media).read_bytes() == png()
    assert fake.media_asked == ["MEDIA-DITCH"]


async def test_a_photo_wechat_no_longer_has_is_asked_for_again(
    oa: Client, clock: FixedClock, fake: FakeWeChat, villager: str
) -> None:
    """An unknown MediaId (WeChat deletes media after three days) answers JSON 40007."""
    assert await send_image(oa, clock, PLAIN, "MEDIA-GONE") == [ZH.t("media.unavailable")]
    assert fake.media_asked == ["MEDIA-GONE"]
    assert await stored(oa) == ([], [])
    # nothing is left waiting for words: her next message is a report of its own
    (answer,) = await say(oa, clock, PLAIN, "一组水渠堵了")
    (report,), photos = await stored(oa)
    assert answer == received(report)
    assert photos == []


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        (b"%PDF-1.4\n% a scanned form, not a photo\n", "media.not_image"),
        (png() + bytes(MAX_BYTES), "media.too_large"),
    ],
    ids=["not-an-image", "over-10MB"],
)
async def test_a_file_the_bot_will_not_keep_is_refused_saying_why(
    oa: Client, clock: FixedClock, fake: FakeWeChat, villager: str, data: bytes, answer: str
) -> None:
    fake.media["MEDIA-X"] = data
    assert await send_image(oa, clock, PLAIN, "MEDIA-X") == [ZH.t(answer)]
    assert await stored(oa) == ([], [])
    assert not any(services_of(oa).media.root.rglob("*.*"))  # nothing of it on disk


async def test_an_expired_access_token_is_fetched_again_and_the_photo_kept(
    oa: Client, clock: FixedClock, fake: FakeWeChat, villager: str
) -> None:
    fake.media["MEDIA-1"], fake.media["MEDIA-2"] = png(2, 2), png(3, 3)
    assert await send_image(oa, clock, PLAIN, "MEDIA-1") == [ZH.t("report.photo_received")]
    fake.expire_tokens()  # WeChat answers the cached token with 42001 from now on
    assert await send_image(oa, clock, PLAIN, "MEDIA-2") == []  # one answer for a burst
    (answer,) = await say(oa, clock, PLAIN, "一组水渠堵了")
    (report,), photos = await stored(oa)
    assert answer == received(report)
    media = services_of(oa).media
    assert [media.path(p.media).read_bytes() for p in photos] == [png(2, 2), png(3, 3)]
    assert fake.token_refusals == [42001]  # refused once, then fetched again and served
    assert fake.token_fetches == 2


# --- the whole life of a report over WeChat --------------------------------------------------
# 王秀英 writes to the Official Account; the cadres are in the simulator's village cadre group.


async def customer_service_texts(fake: FakeWeChat) -> list[str]:
    """What WeChat delivered to 王秀英 as customer-service messages, oldest first."""
    return [m["text"]["content"] for m in fake.followers[VILLAGER].received]


async def lamp_reported(oa: Client, clock: FixedClock, fake: FakeWeChat, channel: str) -> Report:
    services = services_of(oa)
    await sim.enroll(services)  # the cadres' simulator accounts
    fake.wrote(VILLAGER)  # her messages open the 48-hour window for pushes to her
    fake.media["MEDIA-LAMP"] = png()
    assert await send_image(oa, clock, channel, "MEDIA-LAMP") == [ZH.t("report.photo_received")]
    (answer,) = await say(oa, clock, channel, "村口路灯坏了三天了")
    (report,), (photo,) = await stored(oa)
    assert answer == ZH.t(
        "report.received",
        number=report.id,
        category="路灯电力",
        role=ZH.t("role.village_secretary"),
    )
    assert services.media.path(photo.media).read_bytes() == png()
    # the village cadre group is told at once, the secretary @mentioned
    (announced,) = await sim.pushed(oa, services, CADRES)
    assert f"#{report.id}" in announced
    assert "村口路灯坏了三天了" in announced
    return report


async def resolved_by_secretary(oa: Client, number: int) -> None:
    assert await sim.say(oa, "sim-P2", f"接单 {number}", chat=CADRES, mentioned=True) == [
        ZH.t("report.accepted", number=number, category="路灯电力")
    ]
    await sim.send_photo(oa, "sim-P2", png(3, 3))
    assert await sim.say(oa, "sim-P2", f"办结 {number} 灯泡已换") == [
        ZH.t("report.resolved", number=number)
    ]


@BOTH_MODES
async def test_a_report_over_wechat_is_taken_fixed_with_proof_and_confirmed(
    oa: Client, clock: FixedClock, fake: FakeWeChat, villager: str, channel: str
) -> None:
    report = await lamp_reported(oa, clock, fake, channel)
    await resolved_by_secretary(oa, report.id)
    await sim.drain(services_of(oa))
    accepted, resolved = await customer_service_texts(fake)
    assert accepted == ZH.t(
        "report.accepted_villager", number=report.id, role=ZH.t("role.village_secretary")
    )
    assert resolved.startswith(f"您的上报 #{report.id} 已办结：灯泡已换。处理后的照片：")
    assert f"满意 {report.id}" in resolved
    (answer,) = await say(oa, clock, channel, f"满意 {report.id}")
    assert answer.startswith(ZH.t("report.thanks", number=report.id))
    (closed,), photos = await stored(oa)
    assert (closed.status, closed.satisfied) == (ReportStatus.CLOSED, True)
    assert [p.proof for p in photos] == [False, True]
    async with services_of(oa).uow() as store:
        kinds = [e.kind for e in await store.reports.timeline(report.id)]
    assert kinds == ["submitted", "assigned", "accepted", "resolved", "confirmed"]


async def test_not_satisfied_over_wechat_reopens_it_for_the_same_cadre(
    oa: Client, clock: FixedClock, fake: FakeWeChat, villager: str
) -> None:
    report = await lamp_reported(oa, clock, fake, PLAIN)
    await resolved_by_secretary(oa, report.id)
    (answer,) = await say(oa, clock, PLAIN, f"不满意 {report.id} 晚上还是不亮")
    assert answer == ZH.t("report.reopened", number=report.id)
    (reopened,), _ = await stored(oa)
    assert reopened.status is ReportStatus.REOPENED
    told = (await sim.pushed(oa, services_of(oa), CADRES))[-1]
    assert "晚上还是不亮" in told


async def test_a_voice_message_with_its_recognised_text_makes_a_report(
    oa: Client, clock: FixedClock, villager: str
) -> None:
    at = tick(clock)
    xml = voice_xml(next(_ids), at, recognition="河沟里全是垃圾，臭得很", openid=VILLAGER)
    (answer,) = await answers(await deliver(oa, PLAIN, xml, at), PLAIN)
    (report,), _ = await stored(oa)
    assert report.category == "环境卫生"
    assert report.text == "河沟里全是垃圾，臭得很"
    assert answer == ZH.t(
        "report.received",
        number=report.id,
        category="环境卫生",
        role=ZH.t("role.village_secretary"),
    )
