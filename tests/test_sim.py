"""One whole simulator conversation through /sim/api, as the page drives it."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.i18n import Translations
from bot.message import Push, Reply
from bot.outbox import enqueue
from tests.factories import png
from tests.sim_support import enroll, say

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


async def test_photo_upload_is_stored_by_content(
    client: Client, services: Services, registry: None
) -> None:
    data = png()
    form = FormData()
    form.add_field("sender", "sim-guest-1")
    form.add_field("chat", "dm")
    form.add_field("photo", data, filename="road.png", content_type="image/png")
    resp = await client.post("/sim/api/photos", data=form)
    assert resp.status == 200
    # a photo starts a 随手拍 report: a guest is asked to bind first (the photo is kept)
    assert (await resp.json())["replies"][0]["text"] == ZH.t("refusal.bind_first")
    name = f"{hashlib.sha256(data).hexdigest()}.png"
    assert services.media.path(name).read_bytes() == data
    shown = await client.get(f"/sim/media/{name}")
    assert await shown.read() == data
    entry = (await transcript(client, chat="sim-guest-1"))[0]
    assert entry["image"] == f"/sim/media/{name}"


async def test_a_file_that_is_not_a_photo_is_refused(client: Client, services: Services) -> None:
    form = FormData()
    form.add_field("sender", "sim-guest-1")
    form.add_field("chat", "dm")
    form.add_field("photo", b"MZ\x90\x00 not an image", filename="x.jpg")
    resp = await client.post("/sim/api/photos", data=form)
    assert resp.status == 400
    assert await resp.text() == "media.not_image"
    assert not any(services.media.root.rglob("*.*")) if services.media.root.exists() else True


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
    await services.outbox.run_once()
    shown = await transcript(client, chat="g-v1-cadres")
    assert [(e["direction"], e["sender"], e["text"]) for e in shown][-1] == (
        "out",
        "bot",
        "明天上午九点在村委会开会",
    )
