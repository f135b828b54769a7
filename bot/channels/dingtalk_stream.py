"""DingTalk Stream mode: the bot opens DingTalk's outbound WebSocket and keeps it open, so a
township server behind NAT needs no public URL. Every frame is ACKed at once (DingTalk
resends what is not); robot messages are handed to the channel, which validates them. A bad
frame is logged and dropped: it never ends the connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote_plus

from aiohttp import ClientWebSocketResponse, WSMsgType
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from bot.channels.payload import PayloadError, parse_json
from bot.config import DingTalkChannelSettings
from bot.http import Http
from bot.outbox import SendError

log = logging.getLogger(__name__)

TOPIC = "/v1.0/im/bot/messages/get"  # robot messages over the stream
RETRY_SECONDS = 10.0
MAX_DATA = 1024 * 1024  # a robot message is a few kilobytes


class FrameHeaders(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="ignore", frozen=True)

    message_id: str = Field(min_length=1, max_length=128)
    topic: str = Field("", max_length=256)


class Frame(BaseModel):
    """A frame as DingTalk sends it; its data (JSON in a string) is the channel's to read."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: str = Field("", max_length=32)
    headers: FrameHeaders
    data: str = Field("{}", max_length=MAX_DATA)


class Stream:
    def __init__(
        self,
        settings: DingTalkChannelSettings,
        http: Http,
        take: Callable[[str], Awaitable[None]],
    ) -> None:
        self._settings = settings
        self._http = http
        self._take = take
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._forever(), name=f"{self._settings.name} stream")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _forever(self) -> None:
        """Connect, serve frames, and when the connection drops (or DingTalk asks for a new
        one) connect again; after a failure wait, longer each time it fails again."""
        failures = 0
        while True:
            try:
                await self._once()  # returns when DingTalk closes or asks to reconnect
                failures = 0
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.warning("channel %s: stream connection failed: %r", self._settings.name, exc)
            await asyncio.sleep(min(60.0, RETRY_SECONDS * 2 ** (failures - 1)))

    async def _once(self) -> None:
        body = {
            "clientId": self._settings.app_key,
            "clientSecret": self._settings.app_secret,
            "subscriptions": [
                {"type": "CALLBACK", "topic": TOPIC},
                {"type": "EVENT", "topic": "*"},
            ],
            "ua": "villagebot",
            "localIp": "",
        }
        url = f"{self._settings.api_base}/v1.0/gateway/connections/open"
        async with self._http.session.post(url, json=body) as resp:
            if resp.status != 200:
                raise SendError(f"stream registration refused: HTTP {resp.status}")
            ticket = await resp.json(content_type=None)
        endpoint = f"{ticket['endpoint']}?ticket={quote_plus(str(ticket['ticket']))}"
        async with self._http.session.ws_connect(endpoint, heartbeat=60) as ws:
            log.info("channel %s: stream connected", self._settings.name)
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    break
                if not await self._on_frame(ws, frame.data):
                    break  # DingTalk asked for a new connection

    async def _on_frame(self, ws: ClientWebSocketResponse, raw: str) -> bool:
        """ACK the frame, then hand it on. False when DingTalk asks for a new connection."""
        try:
            frame = parse_json(Frame, raw.encode("utf-8", "replace"))
        except PayloadError as exc:
            log.warning(
                "channel %s: unreadable stream frame dropped: %s", self._settings.name, exc
            )
            return True
        topic, kind = frame.headers.topic, frame.type
        ack = {
            "code": 200,
            "headers": {"messageId": frame.headers.message_id, "contentType": "application/json"},
            "message": "OK",
            "data": frame.data if topic == "ping" else "{}",
        }
        await ws.send_str(json.dumps(ack))
        if kind == "SYSTEM" and topic == "disconnect":
            return False
        if kind == "CALLBACK" and topic == TOPIC:
            await self._hand_on(frame)
        return True

    async def _hand_on(self, frame: Frame) -> None:
        """Give the channel a robot message. It is ACKed already, so whatever goes wrong is
        logged here: DingTalk would not resend it, and the connection must stay up."""
        try:
            await self._take(frame.data)
        except PayloadError as exc:
            log.warning("channel %s: stream message refused: %s", self._settings.name, exc)
        except Exception:
            log.exception(
                "channel %s: stream message %s failed",
                self._settings.name,
                frame.headers.message_id,
            )
