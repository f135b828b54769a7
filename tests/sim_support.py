"""Talk to the bot through the simulator's JSON API, as the /sim page does."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.channels.sim import enroll_registry


async def say(
    client: TestClient[Any, Any],
    sender: str,
    text: str,
    chat: str = "dm",
    *,
    mentioned: bool = False,
) -> list[str]:
    """Send a text and return the texts of the bot's replies."""
    resp = await client.post(
        "/sim/api/messages",
        json={"sender": sender, "chat": chat, "text": text, "mentioned": mentioned},
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    return [r["text"] for r in body["replies"]]


async def send_photo(
    client: TestClient[Any, Any],
    sender: str,
    data: bytes,
    chat: str = "dm",
    *,
    mentioned: bool = False,
    caption: str = "",
) -> list[str]:
    """Send a photo (with its caption, if any) and return the texts of the bot's replies."""
    form = FormData()
    form.add_field("sender", sender)
    form.add_field("chat", chat)
    form.add_field("mentioned", "1" if mentioned else "0")
    if caption:
        form.add_field("text", caption)
    form.add_field("photo", data, filename="photo.png", content_type="image/png")
    resp = await client.post("/sim/api/photos", data=form)
    assert resp.status == 200, await resp.text()
    return [r["text"] for r in (await resp.json())["replies"]]


async def send_location(
    client: TestClient[Any, Any], sender: str, lat: float, lon: float, label: str
) -> list[str]:
    location = {"latitude": lat, "longitude": lon, "label": label}
    resp = await client.post(
        "/sim/api/messages", json={"sender": sender, "chat": "dm", "location": location}
    )
    assert resp.status == 200, await resp.text()
    return [r["text"] for r in (await resp.json())["replies"]]


async def drain(services: Services, within: float = 5.0) -> None:
    """Run outbox passes until nothing is pending (a pass sends each chat its oldest push;
    the app's own worker may hold some rows for a moment, so wait for those too)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        await services.outbox.run_once()
        async with services.uow() as store:
            pending, _ = await store.outbox.depth()
        if not pending:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{pending} pushes still pending after {within} s")


async def pushed(client: TestClient[Any, Any], services: Services, chat: str) -> list[str]:
    """Deliver what the outbox holds, then the texts the bot has sent to the chat so far."""
    await drain(services)
    resp = await client.get("/sim/api/transcript", params={"chat": chat})
    return [e["text"] for e in await resp.json() if e["direction"] == "out"]


async def enroll(services: Services) -> None:
    """Give every registry person a simulator account sim-<code>, as `villagebot demo` does."""
    await enroll_registry(services.uow, "sim", services.clock.now())
