"""WeCom: the self-built app (1:1 with staff) and the encrypted envelope both callbacks use;
the smart robot (@mentions in groups) is in wecom_smart.py, group pushes through each group
chat's robot webhook in wecom_robots.py.

Both callbacks are AES-encrypted (WeChat's scheme; the receive id is the corp id for the
app and "" for the smart robot). The msg_signature is checked in constant time, within five
minutes of our clock, before anything is decrypted; the URL check is answered at once. Group
robots take 20 messages a minute and have no signature: their key is the credential, and is
never logged.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus

from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.replies import TextReply

from bot.channels.base import (
    ChannelDeps,
    MediaGet,
    deliver,
    errcode,
    json_answer,
    reject,
)
from bot.channels.payload import PayloadError
from bot.channels.render import as_plain
from bot.channels.tokens import AccessToken
from bot.channels.wechat import reply_xml, signature, signed, timestamp_problem
from bot.channels.wecom_robots import (
    PERMANENT,
    TEXT_MAX_BYTES,
    THROTTLE_WAIT,
    THROTTLED,
    GroupRobots,
    clip_bytes,
    robot_interval,
)
from bot.channels.xml_payload import read_fields, read_message, sealed_part, to_inbound
from bot.config import WeComChannelSettings
from bot.http import Http
from bot.media import MediaStore
from bot.message import MediaRef, Push
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
        if not signed(signature(self._token, timestamp, nonce, encrypted), sig):
            return "bad msg_signature"
        return timestamp_problem(self._deps.clock, timestamp)

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
        sealed = read_fields(self._crypto.encrypt_message(plain, nonce, timestamp).encode())
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
            # the msg_signature covers the ciphertext: the envelope is read (bounded, and
            # its Encrypt checked for base64) before the signature can be
            encrypted = sealed_part(await request.read()).encrypt
        except PayloadError as exc:
            return reject(self._deps, self.name, 400, str(exc))
        problem = self._envelope.problem(query, encrypted)
        if problem:
            return reject(self._deps, self.name, 403, problem)
        try:
            xml = self._envelope.decrypt(encrypted, query)
            message = read_message(xml.encode())
        except ValueError as exc:  # PayloadError, or what decrypt() raises
            return reject(self._deps, self.name, 400, f"not a WeCom message: {exc}")
        msg = to_inbound(self.name, message, xml)
        replies = await deliver(self._deps, msg, self._deadline)
        reply = reply_xml(replies, message, TextReply)
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
