"""One whole simulator conversation through /sim/api, as the page drives it."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from bot.app import Services, create_app
from bot.clock import FixedClock
from bot.config import Settings, SimChannelSettings, SimSettings
from bot.i18n import Translations
from bot.message import Push, Reply, ReplyKind
from bot.outbox import enqueue
from tests.factories import jpeg, png
from tests.sim_support import drain, enroll, say, send_photo

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
SIM_TOKEN = "sim-token-for-the-tests-0123456789"
BEARER = {"Authorization": f"Bearer {SIM_TOKEN}"}


async def transcript(client: Client, chat: str = "", after: int = 0) -> list[dict[str, Any]]:
    resp = await client.get("/sim/api/transcript", params={"after": after, "chat": chat})
    assert resp.status == 200
    entries: list[dict[str, Any]] = await resp.json()
    return entries


async def send_phone_photo(client: Client, sender: str, data: bytes) -> list[str]:
    """Send a photo of a phone's size as the page does (a multipart form, the file last)."""
    form = FormData()
    form.add_field("sender", sender)
    form.add_field("chat", "dm")
    form.add_field("photo", io.BytesIO(data), filename="IMG_2041.jpg", content_type="image/jpeg")
    resp = await client.post("/sim/api/photos", data=form)
    assert resp.status == 200, await resp.text()
    return [r["text"] for r in (await resp.json())["replies"]]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def fetched(client: Client, url: str) -> tuple[str, str]:
    """What GET gives for a picture's URL: its type and the SHA-256 of its bytes."""
    resp = await client.get(url)
    assert resp.status == 200, url
    return resp.content_type, sha256(await resp.read())


async def test_page_and_registry_lists(client: Client, services: Services, registry: None) -> None:
    page = await client.get("/sim")
    assert page.status == 200
    assert "text/html" in page.headers["Content-Type"]
    await enroll(services)
    people = await (await client.get("/sim/api/people")).json()
    by_id = {p["id"]: p for p in people}
    assert by_id["sim-P2"]["roles"] == ["village_secretary"]
    assert by_id["sim-P4"]["is_elder"] is True
    # family living elsewhere (no village, no role) are left for the demo's binding
    assert by_id["sim-P2"]["bound"] is True
    assert by_id["sim-P5"]["bound"] is False
    assert await say(client, "sim-P5", "绑定 孙小明 5555") == [ZH.t("bind.ok", name="孙小明")]
    people = await (await client.get("/sim/api/people")).json()
    assert {p["id"]: p for p in people}["sim-P5"]["bound"] is True
    assert "sim-guest-1" in by_id
    chats = await (await client.get("/sim/api/chats")).json()
    assert {c["name"] for c in chats} == {"柳树村村民群", "柳树村两委群", "河口镇干部群"}
    assert {c["level"] for c in chats} == {"village", "township"}


async def test_a_conversation_in_one_to_one_and_group(
    client: Client, services: Services, registry: None
) -> None:
    # a guest binds in 1:1, then speaks in the village group
    assert await say(client, "sim-guest-1", "绑定 王秀英 1111") == [ZH.t("bind.ok", name="王秀英")]
    assert await say(client, "sim-guest-1", "大家好", chat="g-v1-residents") == []
    menu = await say(client, "sim-guest-1", "帮助", chat="g-v1-residents")
    assert menu[0].startswith(ZH.t("help.title.villager", name="王秀英"))
    mentioned = await say(client, "sim-guest-1", "在吗", chat="g-v1-residents", mentioned=True)
    assert mentioned in [[ZH.t(k)] for k in ("fallback.unknown", "fallback.chat")]
    # the transcript shows both chats, in order, with the bot's answers
    dm = await transcript(client, chat="sim-guest-1")
    assert [(e["direction"], e["text"]) for e in dm] == [
        ("in", "绑定 王秀英 1111"),
        ("out", ZH.t("bind.ok", name="王秀英")),
    ]
    group = await transcript(client, chat="g-v1-residents")
    assert [e["direction"] for e in group] == ["in", "in", "out", "in", "out"]
    everything = await transcript(client)
    assert [e["seq"] for e in everything] == sorted(e["seq"] for e in everything)
    assert await transcript(client, after=everything[-1]["seq"]) == []


async def test_a_villagers_photo_is_kept_by_its_content(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    data = png()
    assert await send_photo(client, "sim-P1", data) == [ZH.t("report.photo_received")]
    name = f"{hashlib.sha256(data).hexdigest()}.png"
    assert services.media.path(name).read_bytes() == data
    # the chat shows what was sent, as the platform keeps it
    entry = (await transcript(client, chat="sim-P1"))[0]
    shown = await client.get(entry["image"])
    assert (shown.status, await shown.read()) == (200, data)
    assert shown.content_type == "image/png"


async def test_a_guests_photo_is_not_kept(
    client: Client, services: Services, registry: None
) -> None:
    assert await send_photo(client, "sim-guest-1", png()) == [ZH.t("refusal.bind_first")]
    assert not services.media.root.exists() or not any(services.media.root.rglob("*.*"))


async def test_a_file_that_is_not_a_photo_is_refused_in_words(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    assert await send_photo(client, "sim-P1", b"MZ\x90\x00 not an image") == [
        ZH.t("media.not_image")
    ]
    assert not services.media.root.exists() or not any(services.media.root.rglob("*.*"))
    # nothing waits for words: the next sentence is not taken for a photo's caption
    assert await say(client, "sim-P1", "你好") == [ZH.t("fallback.chat")]


async def test_a_phone_photo_of_4_mb_becomes_the_reports_photo(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    # larger than the callbacks' 1 MiB body limit, within the 10 MB media limit
    data = jpeg(640, 480, size=4 * 1024 * 1024)
    assert len(data) > services.settings.server.max_body_bytes
    assert await send_phone_photo(client, "sim-P1", data) == [ZH.t("report.photo_received")]
    received = await say(client, "sim-P1", "村口的路灯坏了")
    assert received[0].startswith("已收到您的上报，编号 #1")
    # the secretary looks at the report and can open its photo
    link = f"/media/{sha256(data)}.jpg"
    shown = (await say(client, "sim-P2", "查看 1"))[0]
    assert ZH.t("report.view.photo", link=link) in shown.splitlines()
    assert await fetched(client, link) == ("image/jpeg", sha256(data))


async def test_a_photo_past_the_media_limit_is_refused_in_words_not_with_413(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    big = jpeg(640, 480, size=12 * 1024 * 1024)
    # HTTP 200 (send_phone_photo asserts it): the refusal is the bot's answer, in Chinese
    assert await send_phone_photo(client, "sim-P1", big) == [ZH.t("media.too_large")]
    assert not services.media.root.exists() or not any(services.media.root.rglob("*.*"))
    # the chat shows the photo as sent (nothing of it to show) and the refusal
    shown = await transcript(client, chat="sim-P1")
    assert [(e["direction"], e["kind"], e["text"], e["image"]) for e in shown] == [
        ("in", "image", "", ""),
        ("out", "text", ZH.t("media.too_large"), ""),
    ]
    # nothing waits for words, and a photo within the limit is taken after it
    assert await say(client, "sim-P1", "你好") == [ZH.t("fallback.chat")]
    assert await send_photo(client, "sim-P1", jpeg()) == [ZH.t("report.photo_received")]


async def test_the_senders_own_photo_and_the_bots_show_as_images(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    data = jpeg(320, 240)
    answer = await send_photo(client, "sim-P1", data, "g-v1-residents", mentioned=True)
    assert answer[0].startswith(ZH.t("report.photo_received"))
    mine = (await transcript(client, chat="g-v1-residents"))[0]
    assert (mine["direction"], mine["sender"]) == ("in", "sim-P1")
    assert await fetched(client, mine["image"]) == ("image/jpeg", sha256(data))
    # a photo the bot sends (a stored one, by its name) comes with a link the page can load
    name = f"{sha256(data)}.jpg"
    async with services.uow() as store:
        picture = Reply(kind=ReplyKind.IMAGE, image=name)
        enqueue(store, Push(channel="sim", chat_id="g-v1-cadres", is_group=True, reply=picture),
                services.clock.now(), "photo")  # fmt: skip
    await drain(services)
    sent = (await transcript(client, chat="g-v1-cadres"))[-1]
    assert (sent["direction"], sent["image"]) == ("out", f"/sim/media/{name}")
    assert await fetched(client, sent["image"]) == ("image/jpeg", sha256(data))


async def test_bad_requests_get_400(client: Client) -> None:
    assert (await client.post("/sim/api/messages", data="not json")).status == 400
    assert (await client.post("/sim/api/messages", json={"sender": "x"})).status == 400
    empty = await client.post("/sim/api/messages", json={"sender": "x", "chat": "dm", "text": " "})
    assert empty.status == 400
    assert (await client.get("/sim/api/transcript", params={"after": "x"})).status == 400
    assert (await client.get("/sim/media/..%2Fsecret")).status == 404
    # a photo is sent as a form with a file in it
    assert (await client.post("/sim/api/photos", json={"sender": "x"})).status == 400
    no_photo = await client.post("/sim/api/photos", data={"sender": "x", "chat": "dm"})
    assert no_photo.status == 400


async def test_pushes_from_the_outbox_show_up_in_the_chat(
    client: Client, services: Services, registry: None
) -> None:
    async with services.uow() as store:
        notice = Push(
            channel="sim",
            chat_id="g-v1-cadres",
            is_group=True,
            reply=Reply.of_text("明天上午九点在村委会开会"),
        )
        enqueue(store, notice, services.clock.now(), "notice")
    await drain(services)
    shown = await transcript(client, chat="g-v1-cadres")
    assert [(e["direction"], e["sender"], e["text"]) for e in shown][-1] == (
        "out",
        "bot",
        "明天上午九点在村委会开会",
    )


async def guarded_client(settings: Settings, clock: FixedClock, aiohttp_client: Any) -> Client:
    sim = SimSettings(token=SIM_TOKEN, allow_real_pushes=True)
    app = create_app(settings.model_copy(update={"sim": sim}), clock)
    found: Client = await aiohttp_client(app)
    return found


async def test_with_a_token_the_api_answers_only_who_sends_it(
    settings: Settings, clock: FixedClock, aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = await guarded_client(settings, clock, aiohttp_client)
    hello = {"sender": "sim-guest-1", "chat": "dm", "text": "帮助"}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/sim/api/people", {}),
        ("GET", "/sim/api/chats", {}),
        ("GET", "/sim/api/transcript", {}),
        ("POST", "/sim/api/messages", {"json": hello}),
        ("POST", "/sim/api/photos", {"data": {"sender": "sim-guest-1", "chat": "dm"}}),
    ]
    caplog.set_level("WARNING", logger="bot.access")
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": SIM_TOKEN}):
        for method, path, body in calls:
            resp = await client.request(method, path, headers=headers, **body)
            assert resp.status == 401, (headers, path)
            assert (await resp.json())["error"] == "unauthorized"
    refusals = [r.getMessage() for r in caplog.records if r.name == "bot.access"]
    assert len(refusals) == 3 * len(calls)  # one line each, naming what was refused
    assert "simulator refused for POST /sim/api/messages" in refusals[3]
    assert SIM_TOKEN not in "\n".join(refusals)
    # nothing was said on anyone's behalf
    assert (await client.get("/sim/api/transcript", headers=BEARER)).status == 200
    assert await (await client.get("/sim/api/transcript", headers=BEARER)).json() == []
    # with the token it works as before; the page, which asks for it, is open
    answer = await client.post("/sim/api/messages", json=hello, headers=BEARER)
    assert answer.status == 200
    assert (await answer.json())["replies"][0]["text"].startswith(ZH.t("help.title.guest"))
    page = await client.get("/sim")
    assert page.status == 200
    assert "请输入模拟器口令" in await page.text()


async def test_without_a_token_on_loopback_the_api_is_open(client: Client) -> None:
    assert (await client.get("/sim/api/chats")).status == 200


async def test_the_page_says_it_is_a_simulator_and_whether_pushes_are_real(
    settings: Settings, clock: FixedClock, aiohttp_client: Any, client: Client
) -> None:
    # beside the (fake) platforms, with allow_real_pushes: the page warns that notices go out
    page = await (await client.get("/sim")).text()
    assert '<body data-pushes="real">' in page
    assert "这是模拟器" in page
    assert "这里发的通知会真的发出去" in page
    alone = settings.model_copy(
        update={"channels": [SimChannelSettings(type="sim")], "sim": SimSettings()}
    )
    only_sim: Client = await aiohttp_client(create_app(alone, clock))
    page = await (await only_sim.get("/sim")).text()
    assert '<body data-pushes="sim">' in page
    assert "不会发到真实的群" in page
