"""WeChat Official Account (公众号) server callback, through wechatpy.

Signatures are checked here in constant time, with a freshness window, before anything is
parsed or decrypted; the XML is read and every field validated by xml_payload.py; the
passive reply goes back in the mode the request came in (plaintext or AES safe mode)
within the deadline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus

from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply

from bot.channels.base import ChannelDeps, MediaGet, deliver, errcode, json_answer, reject
from bot.channels.payload import PayloadError
from bot.channels.render import as_plain
from bot.channels.tokens import AccessToken
from bot.channels.xml_payload import XmlMessage, read_message, sealed_part, to_inbound
from bot.clock import Clock
from bot.config import WeChatChannelSettings
from bot.http import Http
from bot.message import MediaRef, Push, Reply, ReplyKind
from bot.outbox import SendError
from bot.store import KeyValue

log = logging.getLogger(__name__)

TIMESTAMP_WINDOW = 300  # seconds either side of our clock
REPLY_MAX_BYTES = 2000  # WeChat cuts passive text replies at about 2048 bytes
_SECONDS = re.compile(r"[0-9]{1,10}")


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 over the parts sorted and joined (token, timestamp, nonce…)."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed(expected: str, given: str) -> bool:
    """Whether `given` is the hex signature `expected`, compared in constant time (as bytes:
    compare_digest refuses a str with anything but ASCII in it)."""
    return hmac.compare_digest(expected.encode(), given.lower().encode())


def timestamp_problem(clock: Clock, timestamp: str) -> str:
    """Why a signed timestamp (Unix seconds) is refused, or "" when it is fresh."""
    if not _SECONDS.fullmatch(timestamp):
        return "bad timestamp"
    skew = abs(clock.now().timestamp() - int(timestamp))
    return "stale timestamp" if skew > TIMESTAMP_WINDOW else ""


def cdata_safe(text: str) -> str:
    """wechatpy pastes text into CDATA unescaped: split any ']]>' across two sections."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def clip(text: str, limit: int = REPLY_MAX_BYTES) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


class WeChatChannel:
    def __init__(
        self,
        settings: WeChatChannelSettings,
        deps: ChannelDeps,
        deadline: float,
        kv: KeyValue,
        http: Http,
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
            throttled=frozenset({API_LIMITED}),
        )
        self._crypto = (
            WeChatCrypto(settings.token, settings.encoding_aes_key, settings.app_id)
            if settings.encoding_aes_key
            else None
        )

    async def callback(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        problem = self._check_signature(query)
        if problem:
            return reject(self._deps, self.name, 403, problem)
        if request.method == "GET":
            echostr = query.get("echostr")
            if echostr is None:
                return reject(self._deps, self.name, 400, "echostr missing")
            return web.Response(text=echostr)

        body = await request.read()  # the app caps bodies at [server] max_body_bytes (413)
        safe_mode = query.get("encrypt_type", "raw").lower() == "aes"
        try:
            xml = self._decrypt(body, query) if safe_mode else utf8(body)
            message = read_message(xml.encode())
        except PayloadError as exc:
            return reject(self._deps, self.name, 400, str(exc))
        msg = to_inbound(self.name, message, xml)
        replies = await deliver(self._deps, msg, self._deadline)
        return self._render(replies, message, query, safe_mode)

    def _check_signature(self, query: Any) -> str:
        sig, timestamp, nonce = (query.get(k, "") for k in ("signature", "timestamp", "nonce"))
        if not (sig and timestamp and nonce):
            return "signature missing"
        if not signed(signature(self._settings.token, timestamp, nonce), sig):
            return "bad signature"
        return timestamp_problem(self._deps.clock, timestamp)

    def _decrypt(self, body: bytes, query: Any) -> str:
        """The plaintext of a safe-mode body; PayloadError (a 400, whose one log line says
        what to fix when the fault is ours) when it is not a genuine, readable one."""
        if self._crypto is None:
            raise PayloadError("an AES message, but safe mode is not set up: set encoding_aes_key")
        encrypted = sealed_part(body).encrypt
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        expected = signature(self._settings.token, timestamp, nonce, encrypted)
        if not signed(expected, query.get("msg_signature", "")):
            raise PayloadError("bad msg_signature")
        try:
            plain: str = self._crypto.decrypt_message(
                {"Encrypt": encrypted}, expected, timestamp, nonce
            )
        except Exception as exc:  # a wrong key surfaces as UnicodeDecodeError or struct.error
            raise PayloadError("cannot decrypt: check encoding_aes_key and app_id") from exc
        return plain

    async def download(self, media: MediaRef) -> bytes:
        """The bytes of a picture a villager sent, by its MediaId (kept by WeChat for three
        days). Larger than the media limit: MediaError."""
        return await self._media.fetch(media.media_id)

    def send_interval(self, push: Push) -> float:
        return 0.0  # per-user quotas, not a rate: see NOT_REACHABLE

    async def prepare(self, pushes: Sequence[Push]) -> None:
        return None

    async def send(self, push: Push) -> str:
        """A customer-service message while the villager's 48-hour window is open (at most
        5 per message of theirs); outside it, the configured template message, if any: an
        Official Account cannot push at will. Both are plain text (markdown is rendered so);
        a photo the text carries stays a link in it (an image would cost a media upload and
        one of the five messages)."""
        if push.is_group:
            raise SendError("an Official Account has no group chats", permanent=True)
        reply = push.reply
        text = as_plain(reply)
        body: dict[str, Any] = {"touser": push.chat_id, "msgtype": "text"}
        if reply.kind is ReplyKind.LINK:
            article = {"title": reply.title, "description": reply.text, "url": reply.url}
            body |= {"msgtype": "news", "news": {"articles": [{**article, "picurl": reply.image}]}}
        else:
            body["text"] = {"content": clip(text)}
        try:
            return await self._call("/cgi-bin/message/custom/send", body)
        except SendError as exc:
            if not (exc.permanent and self._settings.template_id and _window_closed(exc)):
                raise
        data = {self._settings.template_field: {"value": clip(text, TEMPLATE_BYTES)}}
        template = {"touser": push.chat_id, "template_id": self._settings.template_id}
        return await self._call("/cgi-bin/message/template/send", {**template, "data": data})

    async def _call(self, path: str, body: dict[str, Any]) -> str:
        for attempt in (1, 2):
            token = await self._token.get()
            answer = await self._api(path, token, body)
            code, reason = errcode(answer)
            if code == 0:
                return reason
            if code in TOKEN_INVALID and attempt == 1:
                await self._token.invalidate(token)
                continue
            if code == API_LIMITED:
                raise SendError(reason, retry_after=60)
            raise SendError(reason, permanent=code in NOT_REACHABLE or code in TOKEN_INVALID)
        raise AssertionError("unreachable")

    async def _api(self, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self._settings.api_base}{path}?access_token={quote_plus(token)}"
        data = json.dumps(body, ensure_ascii=False).encode()  # WeChat shows \u escapes as is
        headers = {"Content-Type": "application/json; charset=utf-8"}
        async with self._http.session.post(url, data=data, headers=headers) as resp:
            return await json_answer(resp)

    async def _fetch_token(self) -> tuple[str, float]:
        if not self._settings.app_secret:
            raise SendError(f"channel {self.name} has no app_secret", permanent=True)
        query = {
            "grant_type": "client_credential",
            "appid": self._settings.app_id,
            "secret": self._settings.app_secret,
        }
        url = f"{self._settings.api_base}/cgi-bin/token"
        async with self._http.session.get(url, params=query) as resp:
            answer = await json_answer(resp)
        if "access_token" not in answer:
            code = answer.get("errcode")
            # a wrong appid/secret or a server IP missing from the whitelist: no use retrying
            raise SendError(
                f"no access token: errcode {code}: {answer.get('errmsg', '')}",
                permanent=code in (40013, 40125, 40164, 41002, 41004),
            )
        return str(answer["access_token"]), float(answer.get("expires_in", 7200))

    def _render(
        self, replies: tuple[Reply, ...], message: XmlMessage, query: Any, safe_mode: bool
    ) -> web.Response:
        xml = reply_xml(replies, message, TextReply)
        if xml is None:
            return web.Response(text="success")  # WeChat's "nothing to say": no retry
        if safe_mode and self._crypto is not None:
            now = str(int(self._deps.clock.now().timestamp()))
            xml = self._crypto.encrypt_message(xml, secrets.token_hex(8), now)
        return web.Response(text=xml, content_type="application/xml")


# --- pushes: customer-service messages ---------------------------------------------------

TOKEN_INVALID = frozenset({40001, 40014, 42001})  # refetch the access token and try once more
# 45015: the villager has not written within 48 hours (or unsubscribed); 45047: the quota of
# customer-service messages per message of theirs is used up; 40003/43004: no such follower.
NOT_REACHABLE = {45015, 45047, 40003, 43004}
API_LIMITED = 45009
WINDOW_CLOSED = ("errcode 45015", "errcode 45047")
TEMPLATE_BYTES = 600


def _window_closed(exc: SendError) -> bool:
    return str(exc).startswith(WINDOW_CLOSED)


def utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("not UTF-8") from exc


def reply_xml(replies: tuple[Reply, ...], message: XmlMessage, reply_class: Any) -> str | None:
    """The passive text reply to `message` (None: nothing to say), plain, CDATA-safe and
    clipped; from the account (or WeCom app) it was sent to, back to its sender."""
    texts = [as_plain(r) for r in replies if r.text]
    if not texts:
        return None
    content = cdata_safe(clip("\n\n".join(texts)))
    addressed: dict[str, Any] = {"source": message.to_user, "target": message.from_user}
    if message.agent_id is not None:  # WeCom: the reply names the app
        addressed["agent"] = message.agent_id
    xml: str = reply_class(content=content, **addressed).render()
    return xml
