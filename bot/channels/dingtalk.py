"""DingTalk: the app robot's callback in (HTTP, or frames of the Stream mode's WebSocket);
pushes out are in dingtalk_send.py.

A plain callback is signed in its `timestamp`/`sign` headers (HMAC-SHA256 of timestamp +
"\\n" + app secret, keyed by the app secret), checked in constant time and within the
configured window of our clock before the body is read; the reply goes back in the HTTP
response. With a token and aes_key set, only the encrypted callback (dingtalk_crypto.py) is
taken. Either way every field of the message is validated (dingtalk_payload.py) before
anything is stored or handled: bad input is a 400 and one log line.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from bot.channels.base import ChannelDeps, deliver, read_limited, reject
from bot.channels.dingtalk_crypto import CallbackCrypto
from bot.channels.dingtalk_payload import (
    Envelope,
    Event,
    RobotCallback,
    RobotMessage,
    robot_message,
    to_inbound,
)
from bot.channels.dingtalk_send import ROBOT_INTERVAL, Sender, body_of, joined, sign
from bot.channels.dingtalk_stream import Stream
from bot.channels.payload import PayloadError, load_json, parse_json, validated
from bot.channels.robots import RobotBook
from bot.channels.tokens import AccessToken
from bot.config import DingTalkChannelSettings
from bot.http import Http
from bot.message import InboundMessage, MediaRef, Push
from bot.outbox import SendError
from bot.store import KeyValue
from storage.repos import UnitOfWork

log = logging.getLogger(__name__)

SESSION_MARGIN = 60  # stop using a session webhook this long before it expires


def _opened(crypto: CallbackCrypto, encrypt: str) -> Event | RobotMessage:
    """What a signed envelope holds: an event, or a robot message; PayloadError if neither."""
    data = load_json(crypto.open(encrypt))
    if isinstance(data, dict) and "EventType" in data:
        return validated(Event, data)
    return validated(RobotCallback, data).root


class DingTalkChannel:
    def __init__(
        self,
        settings: DingTalkChannelSettings,
        deps: ChannelDeps,
        deadline: float,
        uow: UnitOfWork,
        http: Http,
        kv: KeyValue,
    ) -> None:
        self.name = settings.name
        self._kv = kv
        self._token = AccessToken(kv, settings.name, self._fetch_token)
        self._stream = (
            Stream(settings, http, self.take_streamed) if settings.mode == "stream" else None
        )
        self._crypto = (
            CallbackCrypto(settings.token, settings.aes_key, settings.app_key)
            if settings.aes_key
            else None
        )
        self._robot_code = settings.robot_code or settings.app_key
        self._settings = settings
        self._deps = deps
        self._deadline = deadline
        self._http = http
        self._robots = RobotBook(uow, settings.name)
        self._sender = Sender(settings, deps.clock, http, kv, self._token, self._robots)

    # --- in ---------------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return reject(self._deps, self.name, 405, "DingTalk callbacks are POSTs")
        if self._crypto is not None:
            return await self._encrypted(request, self._crypto)
        problem = self._check_signature(request.headers)
        if problem:
            return reject(self._deps, self.name, 403, problem)
        try:
            message = robot_message(await request.read())
        except PayloadError as exc:
            return reject(self._deps, self.name, 400, f"not a DingTalk robot message: {exc}")
        msg = to_inbound(message, self.name, self._deps.clock.now())
        await self._remember_session(msg, message)
        replies = await deliver(self._deps, msg, self._deadline)
        if not replies:
            return web.json_response({})
        return web.json_response(body_of(joined(replies)))

    async def _encrypted(self, request: web.Request, crypto: CallbackCrypto) -> web.Response:
        """The encrypted callback: DingTalk's URL check, or a robot message, whose replies
        go through its session webhook (the answer can only be the encrypted "success")."""
        query = request.query
        given = query.get("msg_signature") or query.get("signature", "")
        timestamp = query.get("timestamp") or query.get("timeStamp", "")
        nonce = query.get("nonce", "")
        if not (given and timestamp and nonce):
            return reject(self._deps, self.name, 403, "only encrypted callbacks are taken")
        try:
            envelope = parse_json(Envelope, await request.read())
        except PayloadError as exc:
            return reject(self._deps, self.name, 400, f"not an encrypted callback: {exc}")
        if not crypto.signed(given, timestamp, nonce, envelope.encrypt):
            return reject(self._deps, self.name, 403, "bad msg_signature")
        problem = self._stale(timestamp)
        if problem:
            return reject(self._deps, self.name, 403, problem)
        try:
            inside = _opened(crypto, envelope.encrypt)
        except PayloadError as exc:
            return reject(self._deps, self.name, 400, f"not a DingTalk callback: {exc}")
        if isinstance(inside, Event):  # the URL check, or an event the app subscribed to
            log.info("channel %s: event %s answered", self.name, inside.event_type)
        else:
            await self._take(inside)
        now_ms = str(int(self._deps.clock.now().timestamp() * 1000))
        return web.json_response(crypto.seal("success", now_ms))

    def _check_signature(self, headers: Any) -> str:
        timestamp, given = headers.get("timestamp", ""), headers.get("sign", "")
        if not (timestamp and given):
            return "signature missing"
        problem = self._stale(timestamp)
        if problem:
            return problem
        # Some proxies turn a "+" of the base64 into a space on the way.
        given = given.replace(" ", "+").encode("utf-8", "replace")
        if not hmac.compare_digest(sign(self._settings.app_secret, timestamp).encode(), given):
            return "bad signature"
        return ""

    def _stale(self, timestamp: str) -> str:
        """Why a callback's timestamp (epoch ms) is refused, or "" when it is in the window."""
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15):
            return "bad timestamp"
        skew = abs(self._deps.clock.now().timestamp() * 1000 - int(timestamp))
        return "stale timestamp" if skew > self._settings.replay_window_seconds * 1000 else ""

    async def download(self, media: MediaRef) -> bytes:
        """The bytes of a picture or file a person sent (its download code), fetched at once:
        DingTalk's download URL lives only briefly. Larger than the media limit: MediaError."""
        body = {"downloadCode": media.media_id, "robotCode": self._robot_code}
        for attempt in (1, 2):
            token = await self._token.get()
            url = f"{self._settings.api_base}/v1.0/robot/messageFiles/download"
            headers = {"x-acs-dingtalk-access-token": token}
            async with self._http.session.post(url, json=body, headers=headers) as resp:
                if resp.status in (401, 403) and attempt == 1:
                    await self._token.invalidate(token)
                    continue
                if resp.status != 200:
                    raise SendError(f"download refused: HTTP {resp.status}")
                answer = await resp.json(content_type=None)
            break
        async with self._http.session.get(str(answer["downloadUrl"])) as resp:
            if resp.status != 200:
                raise SendError(f"download failed: HTTP {resp.status}")
            return await read_limited(resp)

    async def _fetch_token(self) -> tuple[str, float]:
        url = f"{self._settings.api_base}/v1.0/oauth2/accessToken"
        body = {"appKey": self._settings.app_key, "appSecret": self._settings.app_secret}
        async with self._http.session.post(url, json=body) as resp:
            answer = await resp.json(content_type=None)
        if resp.status != 200 or "accessToken" not in answer:
            raise SendError(f"no access token: HTTP {resp.status} {answer.get('code', '')}")
        return str(answer["accessToken"]), float(answer.get("expireIn", 7200))

    async def _remember_session(self, msg: InboundMessage, message: RobotMessage) -> None:
        """Keep the message's session webhook while it lives (about 90 minutes): pushes to
        this chat go through it, 1:1 chats included. Only DingTalk's own send-by-session URL
        is taken, so a forged callback cannot make the bot post elsewhere."""
        url = message.session_webhook
        expires_ms = message.session_webhook_expired_time or 0
        ttl = expires_ms / 1000 - self._deps.clock.now().timestamp() - SESSION_MARGIN
        if url.startswith(f"{self._settings.oapi_base}/robot/sendBySession?") and ttl > 0:
            await self._kv.set(self._kv.keys.session_webhook(self.name, msg.chat_id), url, ttl)

    # --- stream mode ------------------------------------------------------------------

    def start(self) -> None:
        if self._stream is not None:
            self._stream.start()

    async def stop(self) -> None:
        if self._stream is not None:
            await self._stream.stop()

    async def take_streamed(self, data: str) -> None:
        """A robot message from the stream (a frame's data); PayloadError when it is none."""
        await self._take(robot_message(data.encode("utf-8", "replace")))

    async def _take(self, message: RobotMessage) -> None:
        """A message with no HTTP response to answer in: its replies are pushed (through
        its session webhook)."""
        msg = to_inbound(message, self.name, self._deps.clock.now())
        await self._remember_session(msg, message)
        self._deps.tasks.spawn(self._answer(msg), name=f"{self.name} {msg.msg_id}")

    async def _answer(self, msg: InboundMessage) -> None:
        outcome = await self._deps.dispatcher.feed(msg)
        if outcome.result != "duplicate" and outcome.replies:
            await self._deps.dispatcher.replies.push(msg, outcome.replies, "reply")

    # --- out --------------------------------------------------------------------------

    async def prepare(self, pushes: Sequence[Push]) -> None:
        await self._robots.prepare(pushes)

    def send_interval(self, push: Push) -> float:
        return ROBOT_INTERVAL if push.is_group else 0.0

    async def send(self, push: Push) -> str:
        return await self._sender.send(push)
