"""DingTalk: the app robot's callback in, and group pushes through each group's custom robot.

The callback is signed in its `timestamp`/`sign` headers (HMAC-SHA256 of timestamp + "\\n" +
app secret, keyed by the app secret); it is checked in constant time, within an hour of our
clock, before the body is read as JSON. The reply goes back in the HTTP response. Pushes to
a group go through that group's custom robot webhook (at most 20 a minute per robot, or
DingTalk bans it for 10 minutes with errcode 130101), signed when it has a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from aiohttp import web

from bot.channels.base import ChannelDeps, deliver, errcode, json_answer, read_limited, reject
from bot.channels.dingtalk_stream import Stream
from bot.channels.render import DINGTALK_MARKDOWN, PLAIN, render
from bot.channels.robots import RobotBook
from bot.channels.tokens import AccessToken
from bot.config import DingTalkChannelSettings
from bot.http import Http
from bot.message import InboundMessage, Kind, MediaRef, Push, Reply, ReplyKind
from bot.outbox import SendError
from bot.store import KeyValue
from storage.repos import UnitOfWork

log = logging.getLogger(__name__)

TIMESTAMP_WINDOW_MS = 3_600_000  # DingTalk's own tolerance for its signatures
ROBOT_INTERVAL = 3.0  # 20 messages a minute per custom robot
ROBOT_BAN_SECONDS = 600  # what DingTalk imposes after errcode 130101
SESSION_MARGIN = 60  # stop using a session webhook this long before it expires
THROTTLED = 130101
# The robot's token or signature is wrong, the group is gone, or the message is refused for
# its content: sending it again cannot help.
PERMANENT = {300001, 310000, 400013, 400101, 400102, 410100}


def sign(secret: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret)), as DingTalk signs."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def body_of(reply: Reply) -> dict[str, Any]:
    """A DingTalk robot message: the same shape for a callback's answer, a session webhook
    and a custom robot. Its markdown draws lists but no tables (PROTOCOLS.md §8.2): a table
    goes as a numbered list. A photo a text carries stays the link in its text: robots have
    no image message (PROTOCOLS.md §5)."""
    at = {"atUserIds": list(reply.mentions)} if reply.mentions else {}
    if reply.kind is ReplyKind.LINK:
        link = {"title": reply.title, "text": reply.text, "messageUrl": reply.url}
        return {"msgtype": "link", "link": {**link, "picUrl": reply.image}}
    if reply.kind is ReplyKind.MARKDOWN:
        lines = render(reply.text, PLAIN).strip().splitlines()
        title = lines[0][:40] if lines else ""
        message: dict[str, Any] = {
            "msgtype": "markdown",
            "markdown": {"title": title or "通知", "text": render(reply.text, DINGTALK_MARKDOWN)},
        }
    else:
        message = {"msgtype": "text", "text": {"content": reply.text}}
    if at:
        message["at"] = at
    return message


def _joined(replies: tuple[Reply, ...]) -> Reply:
    """Several replies as one message: the callback's response carries only one."""
    if len(replies) == 1:
        return replies[0]
    kind = (
        ReplyKind.MARKDOWN
        if any(r.kind is ReplyKind.MARKDOWN for r in replies)
        else ReplyKind.TEXT
    )
    mentions = tuple(dict.fromkeys(m for r in replies for m in r.mentions))
    return Reply(kind=kind, text="\n\n".join(r.text for r in replies), mentions=mentions)


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
        self._robot_code = settings.robot_code or settings.app_key
        self._settings = settings
        self._deps = deps
        self._deadline = deadline
        self._http = http
        self._robots = RobotBook(uow, settings.name)

    # --- in ---------------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return reject(self._deps, self.name, 405, "DingTalk callbacks are POSTs")
        problem = self._check_signature(request.headers.get("timestamp", ""), request.headers)
        if problem:
            return reject(self._deps, self.name, 403, problem)
        try:
            payload = json.loads(await request.read())
            msg = self.parse(payload)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return reject(self._deps, self.name, 400, f"not a DingTalk robot message: {exc}")
        if msg is None:
            return web.json_response({})
        await self._remember_session(msg, payload)
        replies = await deliver(self._deps, msg, self._deadline)
        if not replies:
            return web.json_response({})
        return web.json_response(body_of(_joined(replies)))

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

    async def _remember_session(self, msg: InboundMessage, payload: dict[str, Any]) -> None:
        """Keep the message's session webhook while it lives (about 90 minutes): pushes to
        this chat go through it, 1:1 chats included. Only DingTalk's own send-by-session URL
        is taken, so a forged callback cannot make the bot post elsewhere."""
        url = str(payload.get("sessionWebhook", ""))
        expires_ms = int(payload.get("sessionWebhookExpiredTime") or 0)
        ttl = expires_ms / 1000 - self._deps.clock.now().timestamp() - SESSION_MARGIN
        if url.startswith(f"{self._settings.oapi_base}/robot/sendBySession?") and ttl > 0:
            await self._kv.set(self._kv.keys.session_webhook(self.name, msg.chat_id), url, ttl)

    def _check_signature(self, timestamp: str, headers: Any) -> str:
        given = headers.get("sign", "")
        if not (timestamp and given):
            return "signature missing"
        # Some proxies turn a "+" of the base64 into a space on the way.
        given = given.replace(" ", "+")
        if not hmac.compare_digest(sign(self._settings.app_secret, timestamp), given):
            return "bad signature"
        try:
            skew = abs(self._deps.clock.now().timestamp() * 1000 - int(timestamp))
        except ValueError:
            return "bad timestamp"
        if skew > TIMESTAMP_WINDOW_MS:
            return "stale timestamp"
        return ""

    def parse(self, data: Any) -> InboundMessage | None:
        """The channel-neutral message of a robot callback (or a Stream frame's data);
        None for kinds the bot does not take."""
        if not isinstance(data, dict):
            raise ValueError("the body is not a JSON object")
        msgtype = str(data["msgtype"])
        is_group = str(data.get("conversationType", "1")) == "2"
        sender = str(data.get("senderStaffId") or data["senderId"])
        content = data.get("content") or {}
        text, media, kind = "", None, Kind.TEXT
        if msgtype == "text":
            text = str(data["text"]["content"]).strip()
        elif msgtype == "picture":
            kind = Kind.IMAGE
            media = MediaRef(
                media_id=str(content.get("downloadCode") or content["pictureDownloadCode"])
            )
        elif msgtype == "richText":
            parts = content["richText"]
            text = "".join(str(p["text"]) for p in parts if "text" in p).strip()
            codes = [str(p["downloadCode"]) for p in parts if p.get("downloadCode")]
            if codes:
                kind, media = Kind.IMAGE, MediaRef(media_id=codes[0])
        elif msgtype == "audio":
            kind = Kind.VOICE
            text = str(content.get("recognition", "")).strip()
            media = MediaRef(media_id=str(content.get("downloadCode", "")))
        elif msgtype == "file":
            media = MediaRef(media_id=str(content.get("downloadCode", "")))
            text = str(content.get("fileName", ""))
        else:
            log.info("channel %s: %s messages are not taken", self.name, msgtype)
            return None
        created = int(data.get("createAt") or self._deps.clock.now().timestamp() * 1000)
        return InboundMessage(
            channel=self.name,
            msg_id=str(data["msgId"]),
            chat_id=str(data["conversationId"]) if is_group else sender,
            is_group=is_group,
            sender_id=sender,
            sender_name=str(data.get("senderNick", "")),
            kind=kind,
            text=text,
            media=media,
            mentioned=bool(data.get("isInAtList", False)),
            time=datetime.fromtimestamp(created / 1000, UTC),
            raw=data,
        )

    # --- stream mode ------------------------------------------------------------------

    def start(self) -> None:
        if self._stream is not None:
            self._stream.start()

    async def stop(self) -> None:
        if self._stream is not None:
            await self._stream.stop()

    async def take_streamed(self, payload: Any) -> None:
        """A robot message from the stream: no HTTP response to answer in, so its replies
        are pushed (through the message's session webhook)."""
        msg = self.parse(payload)
        if msg is None:
            return
        await self._remember_session(msg, payload)
        self._deps.tasks.spawn(self._answer(msg), name=f"stream {msg.msg_id}")

    async def _answer(self, msg: InboundMessage) -> None:
        outcome = await self._deps.dispatcher.feed(msg)
        if outcome.result != "duplicate" and outcome.replies:
            await self._deps.dispatcher.push_replies(msg, outcome.replies, "reply")

    # --- out --------------------------------------------------------------------------

    async def prepare(self, pushes: Sequence[Push]) -> None:
        await self._robots.prepare(pushes)

    def send_interval(self, push: Push) -> float:
        return ROBOT_INTERVAL if push.is_group else 0.0

    async def send(self, push: Push) -> str:
        """Through the chat's live session webhook; else a group's custom robot; else the
        app robot's OpenAPI (group or 1:1) with the app's access token."""
        session = await self._kv.get(self._kv.keys.session_webhook(self.name, push.chat_id))
        if session is not None:
            return await self._post(session, push.reply)
        token, secret = await self._robots.robot(push.chat_id) if push.is_group else ("", "")
        if token:
            url = f"{self._settings.oapi_base}/robot/send?access_token={quote_plus(token)}"
            if secret:
                timestamp = str(int(self._deps.clock.now().timestamp() * 1000))
                url += f"&timestamp={timestamp}&sign={quote_plus(sign(secret, timestamp))}"
            return await self._post(url, push.reply)
        return await self._send_by_api(push)

    async def _send_by_api(self, push: Push) -> str:
        reply = push.reply
        if reply.kind is ReplyKind.MARKDOWN:
            key, param = "sampleMarkdown", body_of(reply)["markdown"]
        else:
            key, param = "sampleText", {"content": reply.text}
        body: dict[str, Any] = {
            "robotCode": self._robot_code,
            "msgKey": key,
            "msgParam": json.dumps(param, ensure_ascii=False),
        }
        if push.is_group:
            path, body["openConversationId"] = "/v1.0/robot/groupMessages/send", push.chat_id
        else:
            path, body["userIds"] = "/v1.0/robot/oToMessages/batchSend", [push.chat_id]
        for attempt in (1, 2):
            token = await self._token.get()
            headers = {"x-acs-dingtalk-access-token": token}
            url = f"{self._settings.api_base}{path}"
            async with self._http.session.post(url, json=body, headers=headers) as resp:
                if resp.status in (401, 403) and attempt == 1:
                    await self._token.invalidate(token)
                    continue
                try:
                    answer = await resp.json(content_type=None)
                except ValueError:
                    answer = {}
                if resp.status == 200:
                    return f"processQueryKey {answer.get('processQueryKey', '')}"
                reason = (
                    f"HTTP {resp.status} {answer.get('code', '')}: {answer.get('message', '')}"
                )
                if resp.status == 429:
                    raise SendError(reason, retry_after=60)
                raise SendError(reason, permanent=400 <= resp.status < 500)
        raise AssertionError("unreachable")

    async def _post(self, url: str, reply: Reply) -> str:
        """Send one robot message (the URL holds a secret: it never appears in errors)."""
        async with self._http.session.post(url, json=body_of(reply)) as resp:
            answer = await json_answer(resp)
        code, reason = errcode(answer)
        if code == 0:
            return reason
        if code == THROTTLED:
            raise SendError(reason, retry_after=ROBOT_BAN_SECONDS)
        raise SendError(reason, permanent=code in PERMANENT)
