"""Photos a member sends the WeCom app: fetched from a local WeCom by their MediaId
(media/get) while the encrypted callback is answered, and kept with the 随手拍 report.

Callbacks are sealed as WeCom seals them (wechatpy's own crypto, tests/channels/test_wecom.py).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import xmltodict
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.app import SERVICES, Services, create_app
from bot.clock import FixedClock
from bot.config import Settings, WeComChannelSettings
from bot.i18n import Translations
from storage.importer import import_registry, read_registry
from storage.models import Report, ReportPhoto
from tests.channels.test_wecom import CORP_ID, sealed
from tests.conftest import DATA, WECHAT_AES_KEY, WECHAT_TOKEN
from tests.factories import png
from tests.fakes.wecom import FakeWeCom

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
SECRET = "app-secret"
MEMBER = "wangxiuying"  # bound to 王秀英 (P1, grid G1 of 柳树村) in each test
CRYPTO = WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, CORP_ID)
_ids = itertools.count(7_300_000_000_000_000_001)


@pytest.fixture
async def fake(clock: FixedClock) -> FakeWeCom:
    return FakeWeCom(clock, CORP_ID, SECRET)


@pytest.fixture
async def app(
    settings: Settings,
    clock: FixedClock,
    fake: FakeWeCom,
    aiohttp_server: Any,
    aiohttp_client: Any,
) -> Client:
    """The app with a WeCom app channel whose API base is the fake; 王秀英 has bound her
    account as a member does: 绑定, her name and the end of her phone number."""
    server = await aiohttp_server(fake.app())
    wecom = WeComChannelSettings(
        type="wecom",
        name="wecom",
        corp_id=CORP_ID,
        agent_id=1000002,
        secret=SECRET,
        token=WECHAT_TOKEN,
        encoding_aes_key=WECHAT_AES_KEY,
        api_base=str(server.make_url("")).rstrip("/"),
    )
    client: Client = await aiohttp_client(
        create_app(settings.model_copy(update={"channels": [wecom]}), clock)
    )
    await import_registry(services_of(client).uow, read_registry(DATA / "registry.yaml"))
    assert await say(client, clock, "绑定 王秀英 1111") == [ZH.t("bind.ok", name="王秀英")]
    return client


def services_of(client: Client) -> Services:
    found: Services = client.app[SERVICES]
    return found


async def post(client: Client, clock: FixedClock, fields: str) -> list[str]:
    """Seal a message's fields as WeCom does, a second after the last one, and return the
    text the member reads (nothing, for WeCom's empty 200)."""
    clock.advance(1)
    now = int(clock.now().timestamp())
    xml = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{MEMBER}]]></FromUserName><CreateTime>{now}</CreateTime>"
        f"{fields}<MsgId>{next(_ids)}</MsgId><AgentID>1000002</AgentID></xml>"
    )
    encrypt, sig = sealed(CRYPTO, xml, now)
    body = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><AgentID>1000002</AgentID>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    )
    query = {"msg_signature": sig, "timestamp": str(now), "nonce": "n1"}
    resp = await client.post("/callback/wecom", params=query, data=body)
    assert resp.status == 200, await resp.text()
    answer = await resp.text()
    if not answer:
        return []
    envelope = xmltodict.parse(answer)["xml"]
    plain = CRYPTO.decrypt_message(
        answer, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    return [xmltodict.parse(plain)["xml"]["Content"]]


async def say(client: Client, clock: FixedClock, text: str) -> list[str]:
    fields = f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
    return await post(client, clock, fields)


async def send_image(client: Client, clock: FixedClock, media_id: str) -> list[str]:
    fields = (
        "<MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[https://wework.qpic.cn/wwpic/{media_id}/0]]></PicUrl>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId>"
    )
    return await post(client, clock, fields)


async def stored(client: Client) -> tuple[list[Report], list[ReportPhoto]]:
    async with services_of(client).uow() as store:
        reports = (await store.session.scalars(select(Report).order_by(Report.id))).all()
        photos = (await store.session.scalars(select(ReportPhoto).order_by(ReportPhoto.id))).all()
    return list(reports), list(photos)


def received(report: Report) -> str:
    return ZH.t(
        "report.received",
        number=report.id,
        category="水利设施",
        role=ZH.t("role.village_secretary"),
    )


async def test_a_photo_sent_to_the_app_is_kept_with_the_report(
    app: Client, clock: FixedClock, fake: FakeWeCom
) -> None:
    fake.media["WW-MEDIA-1"] = png()
    assert await send_image(app, clock, "WW-MEDIA-1") == [ZH.t("report.photo_received")]
    (answer,) = await say(app, clock, "一组水渠堵了")
    (report,), (photo,) = await stored(app)
    assert answer == received(report)
    assert (report.category, report.channel) == ("水利设施", "wecom")
    assert photo.report_id == report.id
    assert services_of(app).media.path(photo.media).read_bytes() == png()
    assert fake.media_asked == ["WW-MEDIA-1"]


async def test_a_media_id_wecom_does_not_know_is_asked_for_again(
    app: Client, clock: FixedClock, fake: FakeWeCom
) -> None:
    assert await send_image(app, clock, "WW-GONE") == [ZH.t("media.unavailable")]
    assert fake.media_asked == ["WW-GONE"]  # answered with JSON errcode 40007
    assert await stored(app) == ([], [])


async def test_an_expired_app_token_is_fetched_again_and_the_photo_kept(
    app: Client, clock: FixedClock, fake: FakeWeCom
) -> None:
    fake.media["WW-1"], fake.media["WW-2"] = png(2, 2), png(3, 3)
    assert await send_image(app, clock, "WW-1") == [ZH.t("report.photo_received")]
    fake.expire_tokens()
    assert await send_image(app, clock, "WW-2") == []  # one answer for a burst of photos
    (answer,) = await say(app, clock, "一组水渠堵了")
    (report,), photos = await stored(app)
    assert answer == received(report)
    media = services_of(app).media
    assert [media.path(p.media).read_bytes() for p in photos] == [png(2, 2), png(3, 3)]
    assert fake.token_refusals == [42001]
    assert fake.token_fetches == 2
