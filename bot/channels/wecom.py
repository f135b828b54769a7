"""WeCom: the self-built app (1:1 with staff), the smart robot (@mentions in groups), and
group pushes through each group chat's group robot webhook.

Both callbacks are AES-encrypted (WeChat's scheme; the receive id is the corp id for the
app and "" for the smart robot). The msg_signature is checked in constant time, within five
minutes of our clock, before anything is decrypted; the URL check is answered at once. Group
robots take 20 messages a minute and have no signature: their key is the credential, and is
never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus

from aiohttp import web
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.replies import TextReply

from bot.channels.base import (
    ChannelDeps,
    MediaGet,
    deliver,
    errcode,
    json_answer,
    photo_of,
    reject,
)
from bot.channels.render import WECOM_MARKDOWN, as_plain, render
from bot.channels.tokens import AccessToken
from bot.channels.wechat import TIMESTAMP_WINDOW, fields, reply_xml, signature, to_inbound
from bot.channels.wecom_robots import (
    MARKDOWN_MAX_BYTES,
    PERMANENT,
    TEXT_MAX_BYTES,
    THROTTLE_WAIT,
    THROTTLED,
    GroupRobots,
    clip_bytes,
    robot_interval,
)
from bot.config import WeComBotChannelSettings, WeComChannelSettings
from bot.http import Http
from bot.media import MediaStore
from bot.message import InboundMessage, Kind, MediaRef, Push, ReplyKind
from bot.outbox import SendError
from bot.store import KeyValue
from storage.repos import UnitOfWork

log = logging.getLogger(__name__)

RESPONSE_URL_SECONDS = 3600 - 60  # a response_url answers once within the hour
MEMBER_INTERVAL = 2.0  # an app may send a member 30 messages a minute; excess is dropped
TOKEN_INVALID = frozenset({40014, 42001, 41001})


class Envelope:
    """WeCom's encrypted envelope: check the msg_signature, decrypt, and encrypt replies."""

    def __init__(self, token: str, aes_key: str, receive_id: str, deps: ChannelDeps) -> None:
        self._token = token
        self._crypto = WeChatCrypto(token, aes_key, receive_id)
        self._deps = deps

    def problem(self, query: Any, encrypted: str) -> str:
        """Why this request is not genuine, or "" when it is."""
        sig, timestamp, nonce = (query.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
        if not (sig and timestamp and nonce and encrypted):
            return "signature missing"
        expected = signature(self._token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, sig.lower()):
            return "bad msg_signature"
        try:
            skew = abs(self._deps.clock.now().timestamp() - int(timestamp))
        except ValueError:
            return "bad timestamp"
        return "stale timestamp" if skew > TIMESTAMP_WINDOW else ""

    def decrypt(self, encrypted: str, query: Any) -> str:
        """The plaintext of a signed envelope; ValueError when it cannot be opened (a wrong
        key surfaces from wechatpy as UnicodeDecodeError and the like)."""
        try:
            plain: str = self._crypto.decrypt_message(
                {"Encrypt": encrypted},
                query.get("msg_signature", "").lower(),
                query.get("timestamp", ""),
                query.get("nonce", ""),
            )
        except Exception as exc:
            raise ValueError("cannot decrypt: check encoding_aes_key and corp_id") from exc
        return plain

    def url_check(self, channel: str, query: Any) -> web.Response:
        """WeCom's URL check (GET): the decrypted echostr, at once (it allows one second)."""
        echostr = query.get("echostr", "")
        problem = self.problem(query, echostr)
        if problem:
            return reject(self._deps, channel, 403, problem)
        try:
            return web.Response(text=self.decrypt(echostr, query))
        except ValueError as exc:
            return reject(self._deps, channel, 400, str(exc))

    def seal(self, plain: str) -> dict[str, str]:
        """An encrypted reply's fields: encrypt, msgsignature, timestamp, nonce."""
        nonce, timestamp = secrets.token_hex(8), str(int(self._deps.clock.now().timestamp()))
        sealed = fields(self._crypto.encrypt_message(plain, nonce, timestamp).encode())
        return {
            "encrypt": sealed["Encrypt"],
            "msgsignature": sealed["MsgSignature"],
            "timestamp": sealed["TimeStamp"],
            "nonce": sealed["Nonce"],
        }


class WeComChannel:
    """The self-built app: its callback (1:1 with staff); group pushes via group robots."""

    def __init__(
        self,
        settings: WeComChannelSettings,
        deps: ChannelDeps,
        deadline: float,
        uow: UnitOfWork,
        http: Http,
        kv: KeyValue,
        media: MediaStore,
    ) -> None:
        self.name = settings.name
        self._settings = settings
        self._deps = deps
        self._deadline = deadline
        self._http = http
        self._token = AccessToken(kv, settings.name, self._fetch_token)
        self._media = MediaGet(
            http,
            self._token,
            f"{settings.api_base}/cgi-bin/media/get",
            token_invalid=TOKEN_INVALID,
            throttled=frozenset(THROTTLED),
            throttle_wait=THROTTLE_WAIT,
        )
        self._envelope = Envelope(
            settings.token, settings.encoding_aes_key, settings.corp_id, deps
        )
        self._robots = GroupRobots(settings.name, settings.api_base, uow, http, media)

    async def callback(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if request.method == "GET":
            return self._envelope.url_check(self.name, query)
        try:
            encrypted = fields(await request.read()).get("Encrypt", "")
        except ValueError as exc:
            return reject(self._deps, self.name, 400, str(exc))
        problem = self._envelope.problem(query, encrypted)
        if problem:
            return reject(self._deps, self.name, 403, problem)
        try:
            xml = self._envelope.decrypt(encrypted, query)
            fields(xml.encode())  # no DTDs, no entities, well-formed, before wechatpy reads it
            wmsg = parse_message(xml)
            msg = to_inbound(self.name, wmsg, xml)
        except (ValueError, TypeError, KeyError, ArithmeticError, OSError) as exc:
            return reject(self._deps, self.name, 400, f"not a WeCom message: {exc}")
        if msg is None:
            return web.Response(text="")
        replies = await deliver(self._deps, msg, self._deadline)
        reply = reply_xml(replies, wmsg, TextReply)
        if reply is None:
            return web.Response(text="")  # an empty 200: accepted, nothing to say
        sealed = self._envelope.seal(reply)
        body = (
            f"<xml><Encrypt><![CDATA[{sealed['encrypt']}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{sealed['msgsignature']}]]></MsgSignature>"
            f"<TimeStamp>{sealed['timestamp']}</TimeStamp>"
            f"<Nonce><![CDATA[{sealed['nonce']}]]></Nonce></xml>"
        )
        return web.Response(text=body, content_type="application/xml")

    async def download(self, media: MediaRef) -> bytes:
        """The bytes of a picture a staff member sent the app, by its MediaId (kept three
        days). Larger than the media limit: MediaError."""
        return await self._media.fetch(media.media_id)

    def send_interval(self, push: Push) -> float:
        return robot_interval(push) if push.is_group else MEMBER_INTERVAL

    async def prepare(self, pushes: Sequence[Push]) -> None:
        await self._robots.prepare(pushes)

    async def send(self, push: Push) -> str:
        if push.is_group:
            return await self._robots.send(push)
        body = {
            "touser": push.chat_id,
            "msgtype": "text",
            "agentid": self._settings.agent_id,
            "text": {"content": clip_bytes(as_plain(push.reply), TEXT_MAX_BYTES)},
        }
        for attempt in (1, 2):
            token = await self._token.get()
            url = (
                f"{self._settings.api_base}/cgi-bin/message/send?access_token={quote_plus(token)}"
            )
            async with self._http.session.post(url, json=body) as resp:
                answer = await json_answer(resp)
            code, reason = errcode(answer)
            if code == 0 and not answer.get("invaliduser"):
                return reason
            if code in TOKEN_INVALID and attempt == 1:
                await self._token.invalidate(token)
                continue
            if code in THROTTLED:
                raise SendError(reason, retry_after=THROTTLE_WAIT)
            if code == 0:  # accepted, but the person is not (or no longer) in the app's scope
                raise SendError(
                    f"not a member of the app: {answer['invaliduser']}", permanent=True
                )
            raise SendError(reason, permanent=code in PERMANENT or code in TOKEN_INVALID)
        raise AssertionError("unreachable")

    async def _fetch_token(self) -> tuple[str, float]:
        if not self._settings.secret:
            raise SendError(f"channel {self.name} has no secret", permanent=True)
        query = {"corpid": self._settings.corp_id, "corpsecret": self._settings.secret}
        url = f"{self._settings.api_base}/cgi-bin/gettoken"
        async with self._http.session.get(url, params=query) as resp:
            answer = await json_answer(resp)
        if "access_token" not in answer:
            reason = (
                f"no access token: errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"
            )
            raise SendError(reason, permanent=answer.get("errcode") in (40001, 40013, 40091))
        return str(answer["access_token"]), float(answer.get("expires_in", 7200))


class WeComBotChannel:
    """The smart robot: group @mentions as encrypted JSON, answered passively."""

    def __init__(
        self,
        settings: WeComBotChannelSettings,
        deps: ChannelDeps,
        deadline: float,
        uow: UnitOfWork,
        http: Http,
        media: MediaStore,
        kv: KeyValue,
    ) -> None:
        self.name = settings.name
        self._settings = settings
        self._deps = deps
        self._deadline = deadline
        self._http = http
        self._kv = kv
        self._envelope = Envelope(settings.token, settings.encoding_aes_key, "", deps)
        self._robots = GroupRobots(settings.name, settings.api_base, uow, http, media)

    async def callback(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if request.method == "GET":
            return self._envelope.url_check(self.name, query)
        try:
            envelope = json.loads(await request.read())
            encrypted = str(envelope["encrypt"]) if isinstance(envelope, dict) else ""
        except (ValueError, KeyError) as exc:
            return reject(self._deps, self.name, 400, f"not a smart-robot callback: {exc}")
        problem = self._envelope.problem(query, encrypted)
        if problem:
            return reject(self._deps, self.name, 403, problem)
        try:
            msg = self.parse(json.loads(self._envelope.decrypt(encrypted, query)))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return reject(self._deps, self.name, 400, f"not a smart-robot message: {exc}")
        if msg is None:
            return web.Response(text="")
        await self._remember_response_url(msg)
        replies = await deliver(self._deps, msg, self._deadline)
        texts = [as_plain(r) for r in replies if r.text]  # a passive reply is plain text
        if not texts:
            return web.Response(text="")
        plain = json.dumps(
            {"msgtype": "text", "text": {"content": "\n\n".join(texts)}}, ensure_ascii=False
        )
        return web.json_response(self._envelope.seal(plain))

    def parse(self, data: Any) -> InboundMessage | None:
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        msgtype = str(data["msgtype"])
        is_group = data.get("chattype") == "group"
        sender = str(data["from"]["userid"])
        if msgtype == "text":
            text = str(data["text"]["content"]).strip()
            if is_group and text.startswith("@"):  # "@VillageBot 停水通知": drop the mention
                text = text.split(maxsplit=1)[1] if " " in text else ""
        elif msgtype == "mixed":
            items = data["mixed"]["msg_item"]
            text = " ".join(
                str(i["text"]["content"]) for i in items if i.get("msgtype") == "text"
            ).strip()
        else:
            log.info("channel %s: %s messages are not taken", self.name, msgtype)
            return None
        return InboundMessage(
            channel=self.name,
            msg_id=str(data["msgid"]),
            chat_id=str(data["chatid"]) if is_group else sender,
            is_group=is_group,
            sender_id=sender,
            kind=Kind.TEXT,
            text=text,
            mentioned=is_group,  # in a group only @mentions reach a smart robot
            time=self._deps.clock.now(),  # the callback carries no time of its own
            raw=data,
        )

    async def _remember_response_url(self, msg: InboundMessage) -> None:
        """A message's response_url answers it once within an hour: kept for a reply that
        misses the passive window. Only WeCom's own URLs are taken."""
        url = str(msg.raw.get("response_url", ""))
        if url.startswith(f"{self._settings.api_base}/"):
            key = self._kv.keys.session_webhook(self.name, msg.chat_id)
            await self._kv.set(key, url, RESPONSE_URL_SECONDS)

    def send_interval(self, push: Push) -> float:
        return robot_interval(push) if push.is_group else 0.0

    async def prepare(self, pushes: Sequence[Push]) -> None:
        await self._robots.prepare(pushes)

    async def send(self, push: Push) -> str:
        """Through the last message's response_url (once) if there is one, else the group's
        robot; a smart robot cannot start a 1:1 chat."""
        key = self._kv.keys.session_webhook(self.name, push.chat_id)
        url = await self._kv.get(key)
        if url is not None and await self._answerable(push):
            await self._kv.delete(key)  # usable once
            content = push.reply.text
            if push.reply.kind is ReplyKind.MARKDOWN:
                content = render(content, WECOM_MARKDOWN, MARKDOWN_MAX_BYTES)
            body = {"msgtype": "markdown", "markdown": {"content": content}}
            async with self._http.session.post(url, json=body) as resp:
                code, reason = errcode(await json_answer(resp))
            if code == 0:
                return reason
            log.info("channel %s: response_url refused (%s); trying the robot", self.name, reason)
        if not push.is_group:
            raise SendError("a smart robot pushes only into group chats", permanent=True)
        return await self._robots.send(push)

    async def _answerable(self, push: Push) -> bool:
        """Whether a response_url (markdown only) can carry the push: not a photo, nor a
        text with its photo when the group's robot can send both."""
        if push.reply.kind is ReplyKind.IMAGE:
            return False
        return not (photo_of(push.reply) and await self._robots.has_robot(push.chat_id))
