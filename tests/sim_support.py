"""Talk to the bot through the simulator's JSON API, as the /sim page does."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import Services
from bot.channels.sim import enroll_registry
from bot.clock import FixedClock
from storage.models import OutboxMessage, OutboxStatus
from tests.factories import png


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
    """Run outbox passes until nothing due is pending (a pass sends each chat the head of its
    queue; the app's own worker may hold some rows for a moment, so wait for those too).
    What is held for later (quiet hours) stays queued."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        await services.outbox.run_once()
        async with services.uow() as store:
            due = await store.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.not_before <= services.clock.now(),
                )
            )
        if not due:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{due} due pushes still pending after {within} s")


async def pushed(client: TestClient[Any, Any], services: Services, chat: str) -> list[str]:
    """Deliver what the outbox holds, then the texts the bot has sent to the chat so far."""
    await drain(services)
    resp = await client.get("/sim/api/transcript", params={"chat": chat})
    return [e["text"] for e in await resp.json() if e["direction"] == "out"]


async def enroll(services: Services) -> None:
    """Give every registry person a simulator account sim-<code>, as `villagebot demo` does."""
    await enroll_registry(services.uow, "sim", services.clock.now())


class Timeline:
    """A test's clock, in hours after the registry import (24 Nov, 09:00 local), the sweeps
    run at chosen hours, and what each chat has been sent since the last look."""

    def __init__(
        self, client: TestClient[Any, Any], services: Services, clock: FixedClock
    ) -> None:
        self.client, self.services, self.clock = client, services, clock
        self.start = clock.now()
        self.seen: dict[str, int] = {}
        self.replies: dict[str, list[str]] = {}  # answers in the chat: not news

    def at(self, hours: float) -> None:
        self.clock.set(self.start + timedelta(hours=hours))

    async def run(self, job: str, hours: float) -> int:
        self.at(hours)
        return await self.services.scheduler.run(job)

    async def said(self, who: str, text: str, chat: str) -> list[str]:
        replies = await say(self.client, who, text, chat, mentioned=True)
        self.replies.setdefault(chat, []).extend(replies)
        return replies

    async def photo(self, who: str, chat: str, *, mentioned: bool = True) -> list[str]:
        replies = await send_photo(self.client, who, png(), chat, mentioned=mentioned)
        self.replies.setdefault(chat, []).extend(replies)
        return replies

    async def new(self, chat: str) -> list[str]:
        """What the bot pushed to the chat since the last look (its answers there left out)."""
        texts = await pushed(self.client, self.services, chat)
        fresh, self.seen[chat] = texts[self.seen.get(chat, 0) :], len(texts)
        answers = self.replies.pop(chat, [])
        for answer in answers:
            if answer in fresh:
                fresh.remove(answer)
        return fresh
