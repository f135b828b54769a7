"""Talk to the bot through the simulator's JSON API, as the /sim page does."""

from __future__ import annotations

from typing import Any

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


async def enroll(services: Services) -> None:
    """Give every registry person a simulator account sim-<code>, as `villagebot demo` does."""
    await enroll_registry(services.uow, "sim", services.clock.now())
