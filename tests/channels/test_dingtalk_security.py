"""What stands between a forged or replayed request and the bot: the signature's window (a
setting), and the encrypted callback, built exactly as DingTalk builds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from bot.app import SERVICES, Services, create_app
from bot.clock import FixedClock
from bot.config import DingTalkChannelSettings, Settings
from bot.i18n import Translations
from storage.models import InboundLog
from tests.channels.dingtalk_support import (
    body,
    encrypted,
    headers,
    msg_signature,
    opened,
    text_payload,
)
from tests.conftest import DINGTALK_APP_KEY
from tests.fakes.dingtalk import FakeDingTalk
from tests.sim_support import drain

ZH = Translations().for_locale("zh_CN")
TOKEN = "villageToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 letters and digits
CRYPTO = {"token": TOKEN, "aes_key": AES_KEY, "owner": DINGTALK_APP_KEY}


async def app_with(
    settings: Settings, clock: FixedClock, aiohttp_client: Any, **changes: Any
) -> tuple[Any, Services]:
    """The app with its DingTalk channel's settings changed (and validated)."""
    ding = next(c for c in settings.channels if c.name == "ding")
    changed = DingTalkChannelSettings(**{**ding.model_dump(), **changes})
    channels = [*(c for c in settings.channels if c.name != "ding"), changed]
    app = create_app(settings.model_copy(update={"channels": channels}), clock)
    return await aiohttp_client(app), app[SERVICES]


async def logged(services: Services) -> int:
    async with services.uow() as store:
        return await store.session.scalar(select(func.count()).select_from(InboundLog)) or 0


def ms(clock: FixedClock) -> int:
    return int(clock.now().timestamp() * 1000)


# --- the window ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset_ms", "status"), [(299_999, 200), (-299_999, 200), (300_001, 403), (-300_001, 403)]
)
async def test_the_window_is_the_setting(
    settings: Settings, clock: FixedClock, aiohttp_client: Any, offset_ms: int, status: int
) -> None:
    client, services = await app_with(settings, clock, aiohttp_client, replay_window_seconds=300)
    sent = ms(clock) + offset_ms
    payload = body(text_payload("帮助", "w", sent))
    resp = await client.post("/callback/ding", data=payload, headers=headers(sent))
    assert resp.status == status
    assert await logged(services) == (1 if status == 200 else 0)


async def test_a_captured_request_replayed_after_the_window_is_refused(
    settings: Settings, clock: FixedClock, aiohttp_client: Any
) -> None:
    client, services = await app_with(settings, clock, aiohttp_client, replay_window_seconds=300)
    at = ms(clock)
    captured = {"data": body(text_payload("帮助", "cap", at)), "headers": headers(at)}
    assert (await client.post("/callback/ding", **captured)).status == 200
    # replayed within the window, even with other words (DingTalk's sign does not cover
    # the body), the message id is one already handled: it is not handled again
    again = {**captured, "data": body(text_payload("我的积分", "cap", at))}
    assert (await client.post("/callback/ding", **again)).status == 200
    clock.set(clock.now() + timedelta(seconds=301))
    assert (await client.post("/callback/ding", **captured)).status == 403
    assert await logged(services) == 1


def test_the_settings_refuse_a_half_or_malformed_encryption_and_a_wide_window() -> None:
    base = {"type": "dingtalk", "name": "ding", "app_key": "k", "app_secret": "s"}
    DingTalkChannelSettings(**base, token=TOKEN, aes_key=AES_KEY)
    for wrong in (
        {"token": TOKEN},
        {"aes_key": AES_KEY},
        {"token": TOKEN, "aes_key": AES_KEY[:-1]},
        {"token": TOKEN, "aes_key": AES_KEY[:-1] + "+"},
        {"replay_window_seconds": 7200},
        {"replay_window_seconds": 10},
    ):
        with pytest.raises(ValidationError):
            DingTalkChannelSettings(**base, **wrong)


# --- the encrypted callback --------------------------------------------------------------


async def test_dingtalks_own_url_check_is_answered_with_the_encrypted_success(
    settings: Settings, clock: FixedClock, aiohttp_client: Any
) -> None:
    """The sample in DingTalk's DingCallbackCrypto3.py: a check_url it sent, with its app."""
    vector = {"token": "mryue", "aes_key": "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"}
    client, _ = await app_with(
        settings, clock, aiohttp_client, app_key="ding6ccabc44d2c8d38b", **vector
    )
    clock.set(datetime.fromtimestamp(1608001896814 / 1000, UTC))
    query = {
        "signature": "03044561471240d4a14bb09372dfcfd4fd0e40cb",
        "timestamp": "1608001896814",
        "nonce": "WL4PK6yA",
    }
    encrypt = (
        "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvm"
        "BKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3"
    )
    resp = await client.post("/callback/ding", params=query, json={"encrypt": encrypt})
    assert resp.status == 200
    answer = await resp.json()
    assert set(answer) == {"msg_signature", "timeStamp", "nonce", "encrypt"}
    assert opened(answer, owner="ding6ccabc44d2c8d38b", **vector) == "success"


async def test_an_event_the_bot_does_not_use_is_answered_and_not_handled(
    settings: Settings, clock: FixedClock, aiohttp_client: Any
) -> None:
    client, services = await app_with(
        settings, clock, aiohttp_client, token=TOKEN, aes_key=AES_KEY
    )
    event = '{"EventType": "user_add_org", "UserId": ["user001"], "CorpId": "dingCORP"}'
    query, envelope = encrypted(event, timestamp_ms=ms(clock), nonce="n1", **CRYPTO)
    resp = await client.post("/callback/ding", params=query, data=envelope)
    assert resp.status == 200
    assert opened(await resp.json(), **CRYPTO) == "success"
    await services.tasks.drain()
    assert await logged(services) == 0


async def test_an_encrypted_robot_message_is_handled_and_answered(
    settings: Settings, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any
) -> None:
    fake = FakeDingTalk(clock)
    base = str((await aiohttp_server(fake.app())).make_url("")).rstrip("/")
    fake.sessions["S1"] = []
    client, services = await app_with(
        settings, clock, aiohttp_client, token=TOKEN, aes_key=AES_KEY, oapi_base=base
    )
    at = ms(clock)
    payload = text_payload("帮助", "enc-1", at)
    payload["sessionWebhook"] = f"{base}/robot/sendBySession?session=S1"
    query, envelope = encrypted(
        body(payload).decode(), timestamp_ms=at, nonce="n0nce123", **CRYPTO
    )
    resp = await client.post("/callback/ding", params=query, data=envelope)
    assert resp.status == 200
    assert opened(await resp.json(), **CRYPTO) == "success"
    await services.tasks.drain()
    await drain(services)
    (answer,) = fake.sessions["S1"]
    assert answer["text"]["content"].startswith(ZH.t("help.title.guest"))
    assert await logged(services) == 1


def signed_help(clock: FixedClock, **overrides: Any) -> tuple[dict[str, str], bytes]:
    at = ms(clock)
    crypto = {**CRYPTO, **overrides}
    return encrypted(
        body(text_payload("帮助", "enc-x", at)).decode(), timestamp_ms=at, nonce="abc", **crypto
    )


@pytest.mark.parametrize(
    "forge", ["one-char", "other-token", "no-signature", "no-nonce", "stale", "plain-callback"]
)
async def test_a_forged_or_stale_encrypted_callback_gets_403(
    settings: Settings, clock: FixedClock, aiohttp_client: Any, forge: str
) -> None:
    client, services = await app_with(
        settings, clock, aiohttp_client, token=TOKEN, aes_key=AES_KEY
    )
    query, envelope = signed_help(clock, token="someoneElse" if forge == "other-token" else TOKEN)
    sent: dict[str, Any] = {"params": query, "data": envelope}
    if forge == "one-char":
        given = query["signature"]
        query["signature"] = ("0" if given[0] != "0" else "1") + given[1:]
    elif forge == "no-signature":
        del query["signature"]
    elif forge == "no-nonce":
        del query["nonce"]
    elif forge == "stale":
        clock.set(clock.now() + timedelta(hours=1, seconds=1))
    elif forge == "plain-callback":  # signed headers are not enough once encryption is on
        at = ms(clock)
        sent = {"data": body(text_payload("帮助", "plain", at)), "headers": headers(at)}
    resp = await client.post("/callback/ding", **sent)
    assert resp.status == 403
    assert await logged(services) == 0


@pytest.mark.parametrize("case", ["other-app", "other-key", "not-base64", "no-encrypt"])
async def test_a_signed_envelope_that_does_not_open_gets_400(
    settings: Settings, clock: FixedClock, aiohttp_client: Any, case: str
) -> None:
    client, services = await app_with(
        settings, clock, aiohttp_client, token=TOKEN, aes_key=AES_KEY
    )
    if case == "other-app":
        query, envelope = signed_help(clock, owner="dingSOMEONEELSE")
    elif case == "other-key":
        query, envelope = signed_help(clock, aes_key="Z" * 43)
    elif case == "not-base64":  # signed all the same
        query, _ = signed_help(clock)
        query["signature"] = msg_signature(TOKEN, query["timestamp"], query["nonce"], "(!)")
        envelope = b'{"encrypt": "(!)"}'
    else:
        query, _ = signed_help(clock)
        envelope = b'{"Encrypt": "abc"}'
    resp = await client.post("/callback/ding", params=query, data=envelope)
    assert resp.status == 400
    assert await logged(services) == 0
