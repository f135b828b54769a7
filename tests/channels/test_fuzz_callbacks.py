"""Every callback parser fuzzed through the real HTTP app: the WeChat Official Account in
plaintext and safe mode, the WeCom app, the WeCom smart robot, DingTalk's HTTP callback and
the simulator's API.

Whatever the body (random bytes, truncated or deeply nested XML and JSON, wrong types and
huge numbers in known fields, NUL and control characters in texts), and even when it is
signed or sealed correctly so that the parser is reached: the answer is never a 5xx, it
comes within the channel's reply deadline, and a refused callback (4xx) leaves no inbound
log row. Strategies are in fuzz_support.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.app import SERVICES, Services, create_app
from bot.channels import sim
from bot.clock import FixedClock
from bot.config import Settings, WeComBotChannelSettings, WeComChannelSettings
from storage.models import InboundLog
from tests.channels import fuzz_support as fuzz
from tests.channels.dingtalk_support import headers, text_payload
from tests.conftest import WECHAT_AES_KEY, WECHAT_TOKEN
from tests.fakes.wecom import FakeWeCom
from tests.wechat_support import OA_ID, cdata, encrypt, plain_query, sign, text_xml

pytestmark = pytest.mark.slow

Client = TestClient[Any, Any]
CORP_ID = "ww0123456789abcdef"
AGENT_ID = 1000002
NONCE = "987654321"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one app for all examples, on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
SMART_ROBOT_TEXT = {  # PROTOCOLS.md 7.4
    "msgid": "m1",
    "aibotid": "AIBOT1",
    "chattype": "group",
    "chatid": "CHAT1",
    "from": {"userid": "zhangsan"},
    "response_url": "https://example.invalid/resp",
    "msgtype": "text",
    "text": {"content": "@VillageBot 停水通知"},
}
SIM_MESSAGE = {
    "sender": "sim-guest-1",
    "chat": "dm",
    "text": "帮助",
    "mentioned": False,
    "location": {"latitude": 30.27, "longitude": 120.15, "label": "村委会"},
}


@pytest.fixture
async def app(
    settings: Settings, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any
) -> Client:
    """The test settings' channels with a WeCom app and a smart robot at a local WeCom;
    no outbox worker, so that nothing a fuzzed message leaves behind is ever sent."""
    server = await aiohttp_server(FakeWeCom(clock, CORP_ID, "app-secret").app())
    base = str(server.make_url("")).rstrip("/")
    wecom = WeComChannelSettings(
        type="wecom",
        name="wecom",
        corp_id=CORP_ID,
        agent_id=AGENT_ID,
        secret="app-secret",
        token=WECHAT_TOKEN,
        encoding_aes_key=WECHAT_AES_KEY,
        api_base=base,
    )
    robot = WeComBotChannelSettings(
        type="wecom_bot",
        name="wbot",
        token=WECHAT_TOKEN,
        encoding_aes_key=WECHAT_AES_KEY,
        api_base=base,
    )
    update = {
        "channels": [*settings.channels, wecom, robot],
        "outbox": settings.outbox.model_copy(update={"enabled": False}),
    }
    client: Client = await aiohttp_client(create_app(settings.model_copy(update=update), clock))
    return client


def services_of(client: Client) -> Services:
    found: Services = client.app[SERVICES]
    return found


async def logged(services: Services) -> int:
    async with services.uow() as store:
        return int(await store.session.scalar(select(func.count()).select_from(InboundLog)) or 0)


async def survives(
    client: Client,
    clock: FixedClock,
    send: Callable[[int], Awaitable[ClientResponse]],
    deadline: float | None = None,
) -> int:
    """Send one fuzzed callback (stamped with the clock's time, which moves on a minute
    each time, so no sender is rate limited) and check what any platform may rely on:
    an answer within the reply deadline (the configured one, unless given), never a 5xx,
    and for a refusal no inbound log row. Returns the status."""
    services = services_of(client)
    clock.advance(61)
    now = int(clock.now().timestamp())
    before = await logged(services)
    if deadline is None:
        deadline = services.settings.bot.reply_deadline_seconds

    async def answered() -> tuple[int, bytes]:
        resp = await send(now)
        return resp.status, await resp.read()

    status, body = await asyncio.wait_for(answered(), deadline)
    assert status < 500, body[:300]
    if status >= 400:
        assert await logged(services) == before, f"a {status} left an inbound row"
    return status


# --- WeChat Official Account ---------------------------------------------------------------


def oa_plain_bodies() -> st.SearchStrategy[bytes]:
    valid = text_xml("帮助", 1, at=1_700_000_000).encode()
    return st.one_of(
        fuzz.random_bytes,
        fuzz.nested_xml(),
        fuzz.truncated(valid),
        fuzz.declared(valid.decode()).map(str.encode),
        fuzz.xml_messages(OA_ID, 1_700_000_000).map(str.encode),
    )


@FUZZ
@given(body=oa_plain_bodies())
@example(body=b"<xml>" + b"<a>" * 500 + b"</xml>")
@example(body=text_xml("帮\x00助", 1, at=1_700_000_000).encode())
@example(body=b"<?xml version='1.0' encoding='bogus'?><xml/>")
@example(body=text_xml("帮助", 1, at=10**40).encode())
async def test_official_account_plaintext(app: Client, clock: FixedClock, body: bytes) -> None:
    """The signature covers the query only: every body here reaches the parser."""

    async def post(now: int) -> ClientResponse:
        return await app.post("/callback/oa", params=plain_query(now), data=body)

    await survives(app, clock, post)


def sealed_oa(plain: str, now: int) -> tuple[dict[str, str], bytes]:
    query, body = encrypt(plain, now, NONCE)
    return query, body.encode()


def signed_oa(ciphertext: str, now: int) -> tuple[dict[str, str], bytes]:
    body = (
        f"<xml><ToUserName>{cdata(OA_ID)}</ToUserName><Encrypt>{cdata(ciphertext)}</Encrypt></xml>"
    )
    msg_signature = sign(WECHAT_TOKEN, str(now), NONCE, ciphertext)
    query = plain_query(now, NONCE) | {"encrypt_type": "aes", "msg_signature": msg_signature}
    return query, body.encode()


def safe_mode_cases() -> st.SearchStrategy[tuple[str, str | bytes]]:
    valid = text_xml("帮助", 1, at=1_700_000_000)
    return st.one_of(
        st.tuples(st.just("unsigned"), fuzz.random_bytes | fuzz.nested_xml()),
        st.tuples(st.just("signed"), fuzz.garbage_ciphertext),
        st.tuples(st.just("sealed"), fuzz.sealable_text(valid)),
        st.tuples(st.just("sealed"), fuzz.xml_messages(OA_ID, 1_700_000_000)),
    )


@FUZZ
@given(case=safe_mode_cases())
@example(case=("signed", "A" * 4))
@example(case=("sealed", "<xml>" + "<a>" * 500))
async def test_official_account_safe_mode(
    app: Client, clock: FixedClock, case: tuple[str, str | bytes]
) -> None:
    """Garbage as the envelope, as a correctly signed ciphertext, and sealed as WeChat
    seals a message (so decryption succeeds and the plaintext parser is reached)."""
    how, content = case

    async def post(now: int) -> ClientResponse:
        if how == "unsigned":
            assert isinstance(content, bytes)
            query = plain_query(now) | {"encrypt_type": "aes", "msg_signature": "0" * 40}
            return await app.post("/callback/oa-aes", params=query, data=content)
        assert isinstance(content, str)
        query, body = (signed_oa if how == "signed" else sealed_oa)(content, now)
        return await app.post("/callback/oa-aes", params=query, data=body)

    await survives(app, clock, post)


# short: a query past aiohttp's 8 KiB request line is refused before any channel sees it
signed_query_values = fuzz.short_hostile_text | st.integers().map(str)


@FUZZ
@given(
    channel=st.sampled_from(["oa", "oa-aes", "wecom", "wbot"]),
    timestamp=signed_query_values,
    nonce=signed_query_values,
    given_signature=st.none() | fuzz.short_hostile_text,
)
@example(channel="oa", timestamp="9" * 400, nonce="1", given_signature=None)
@example(channel="wecom", timestamp="9" * 400, nonce="1", given_signature=None)
@example(channel="oa", timestamp="1", nonce="1", given_signature="签名")
@example(channel="wbot", timestamp="1", nonce="1", given_signature="签名")
async def test_signed_garbage_in_the_query(
    app: Client,
    clock: FixedClock,
    channel: str,
    timestamp: str,
    nonce: str,
    given_signature: str | None,
) -> None:
    """A timestamp or nonce no platform sends, signed correctly (None), or a signature that
    is not hex at all: refused, never a 500 (int(), float() or compare_digest raising)."""

    async def post(now: int) -> ClientResponse:
        ciphertext = "Zm9vYmFy"
        if channel.startswith("oa"):
            sig = given_signature or sign(WECHAT_TOKEN, timestamp, nonce)
            query = {"signature": sig, "timestamp": timestamp, "nonce": nonce}
            body = text_xml("帮助", 1, at=now)
        else:
            sig = given_signature or sign(WECHAT_TOKEN, timestamp, nonce, ciphertext)
            query = {"msg_signature": sig, "timestamp": timestamp, "nonce": nonce}
            body = f"<xml><Encrypt>{ciphertext}</Encrypt></xml>"
            if channel == "wbot":
                body = json.dumps({"encrypt": ciphertext})
        if channel == "oa-aes":
            query |= {"encrypt_type": "aes", "msg_signature": sig}
        return await app.post(f"/callback/{channel}", params=query, data=body.encode())

    assert await survives(app, clock, post) >= 400


# --- WeCom: the self-built app and the smart robot -------------------------------------------


def wecom_sealed(receive_id: str, plain: str, now: int) -> tuple[str, dict[str, str]]:
    """(Encrypt, query) of a plaintext, as WeCom seals it for `receive_id`."""
    crypto = WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, receive_id)
    xml = crypto.encrypt_message(plain, NONCE, str(now))
    ciphertext = xml.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    return ciphertext, wecom_query(ciphertext, now)


def wecom_query(ciphertext: str, now: int) -> dict[str, str]:
    sig = sign(WECHAT_TOKEN, str(now), NONCE, ciphertext)
    return {"msg_signature": sig, "timestamp": str(now), "nonce": NONCE}


def app_envelope(ciphertext: str) -> bytes:
    return (
        f"<xml><ToUserName>{cdata(CORP_ID)}</ToUserName><AgentID>{AGENT_ID}</AgentID>"
        f"<Encrypt>{cdata(ciphertext)}</Encrypt></xml>"
    ).encode()


def wecom_app_cases() -> st.SearchStrategy[tuple[str, str | bytes]]:
    valid = text_xml("帮助", 1, at=1_700_000_000).replace(OA_ID, CORP_ID)
    return st.one_of(
        st.tuples(st.just("unsigned"), fuzz.random_bytes | fuzz.nested_xml()),
        st.tuples(st.just("signed"), fuzz.garbage_ciphertext),
        st.tuples(st.just("sealed"), fuzz.sealable_text(valid)),
        st.tuples(st.just("sealed"), fuzz.xml_messages(CORP_ID, 1_700_000_000, AGENT_ID)),
    )


@FUZZ
@given(case=wecom_app_cases())
@example(case=("unsigned", b"<xml>" + b"<a>" * 500))
@example(case=("sealed", "<xml>" + "<a>" * 500))
async def test_wecom_app(app: Client, clock: FixedClock, case: tuple[str, str | bytes]) -> None:
    how, content = case

    async def post(now: int) -> ClientResponse:
        if how == "unsigned":
            query = {"msg_signature": "0" * 40, "timestamp": str(now), "nonce": NONCE}
            return await app.post("/callback/wecom", params=query, data=content)
        assert isinstance(content, str)
        if how == "signed":
            ciphertext, query = content, wecom_query(content, now)
        else:
            ciphertext, query = wecom_sealed(CORP_ID, content, now)
        return await app.post("/callback/wecom", params=query, data=app_envelope(ciphertext))

    await survives(app, clock, post)


def smart_robot_cases() -> st.SearchStrategy[tuple[str, str | bytes]]:
    plaintexts = fuzz.json_bodies(SMART_ROBOT_TEXT).map(lambda b: b.decode("utf-8", "replace"))
    return st.one_of(
        st.tuples(st.just("unsigned"), fuzz.json_bodies({"encrypt": "Zm9v"}, "encrypt")),
        st.tuples(st.just("signed"), fuzz.garbage_ciphertext),
        st.tuples(st.just("sealed"), plaintexts | fuzz.hostile_text),
    )


@FUZZ
@given(case=smart_robot_cases())
@example(case=("unsigned", b"[" * 1200))
@example(case=("unsigned", b'{"encrypt": 1e400}'))
@example(case=("sealed", "[" * 1200))
@example(case=("sealed", '{"msgtype": "text", "text": {"content": 1e400}}'))
@example(case=("sealed", json.dumps(SMART_ROBOT_TEXT | {"text": {"content": "帮\x00助"}})))
async def test_wecom_smart_robot(
    app: Client, clock: FixedClock, case: tuple[str, str | bytes]
) -> None:
    how, content = case

    async def post(now: int) -> ClientResponse:
        if how == "unsigned":
            query = {"msg_signature": "0" * 40, "timestamp": str(now), "nonce": NONCE}
            return await app.post("/callback/wbot", params=query, data=content)
        assert isinstance(content, str)
        if how == "signed":
            ciphertext, query = content, wecom_query(content, now)
        else:
            ciphertext, query = wecom_sealed("", content, now)
        body = json.dumps({"encrypt": ciphertext}).encode()
        return await app.post("/callback/wbot", params=query, data=body)

    await survives(app, clock, post)


# --- DingTalk and the simulator ---------------------------------------------------------------


@FUZZ
@given(body=fuzz.json_bodies(text_payload("帮助", "msgFUZZ", 1_700_000_000_000)))
@example(body=b"[" * 1200)
@example(body=json.dumps(text_payload("帮\x00助", "msgNUL", 1_700_000_000_000)).encode())
@example(body=b'{"msgtype": "text", "text": {"content": "hi"}, "createAt": 1e400}')
async def test_dingtalk_http_callback(app: Client, clock: FixedClock, body: bytes) -> None:
    """DingTalk's sign covers the timestamp header only: every body here is "signed"."""

    async def post(now: int) -> ClientResponse:
        return await app.post("/callback/ding", data=body, headers=headers(now * 1000))

    await survives(app, clock, post)


@FUZZ
@given(body=fuzz.json_bodies(SIM_MESSAGE))
@example(body=b"[" * 1200)
@example(body=b'{"sender": "sim-guest-1", "chat": "dm", "text": "\\u0000"}')
@example(body=b'{"sender": "sim-guest-1", "chat": "dm", "location": {"latitude": 1e400}}')
async def test_simulator_api(app: Client, clock: FixedClock, body: bytes) -> None:
    async def post(now: int) -> ClientResponse:
        json_body = {"Content-Type": "application/json"}
        return await app.post("/sim/api/messages", data=body, headers=json_body)

    await survives(app, clock, post, sim.DEADLINE)
