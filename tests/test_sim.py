"""One whole simulator conversation through /sim/api, as the page drives it."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.i18n import Translations
from bot.message import Push, Reply
from bot.outbox import enqueue
from tests.factories import png
from tests.sim_support import drain, enroll, say, send_photo

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]


async def transcript(client: Client, chat: str = "", after: int = 0) -> list[dict[str, Any]]:
    resp = await client.get("/sim/api/transcript", params={"after": after, "chat": chat})
    assert resp.status == 200
    entries: list[dict[str, Any]] = await resp.json()
    return entries


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
    assert mentioned == [ZH.t("fallback.unknown")]
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
    assert await say(client, "sim-P1", "你好") == [ZH.t("fallback.unknown")]


async def test_bad_requests_get_400(client: Client) -> None:
    assert (await client.post("/sim/api/messages", data="not json")).status == 400
    assert (await client.post("/sim/api/messages", json={"sender": "x"})).status == 400
    empty = await client.post("/sim/api/messages", json={"sender": "x", "chat": "dm", "text": " "})
    assert empty.status == 400
    assert (await client.get("/sim/api/transcript", params={"after": "x"})).status == 400
    assert (await client.get("/sim/media/..%2Fsecret")).status == 404


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
