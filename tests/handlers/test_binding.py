"""绑定 and 我的信息, through the simulator on both stacks."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.i18n import Translations
from storage.models import Identity
from tests.sim_support import enroll, say

ZH = Translations().for_locale("zh_CN")
EN = Translations().for_locale("en")
Client = TestClient[Any, Any]


async def bound_person(services: Services, external_id: str) -> str | None:
    async with services.uow() as store:
        person = await store.identities.person_for("sim", external_id)
    return person.name if person else None


async def test_bind_in_one_line(client: Client, services: Services, registry: None) -> None:
    assert await say(client, "sim-guest-1", "绑定 王秀英 1111") == [ZH.t("bind.ok", name="王秀英")]
    assert await bound_person(services, "sim-guest-1") == "王秀英"
    # now a villager: 我的信息 shows the registry entry, with the phone masked
    info = (await say(client, "sim-guest-1", "我的信息"))[0]
    assert "王秀英" in info
    assert "139****1111" in info
    assert "河口镇 · 柳树村 · 柳树村一网格" in info
    assert "13900001111" not in info


async def test_same_name_binds_the_person_with_those_digits(
    client: Client, services: Services, registry: None
) -> None:
    await say(client, "sim-guest-1", "绑定 王秀英8888")
    async with services.uow() as store:
        person = await store.identities.person_for("sim", "sim-guest-1")
    assert person is not None
    assert person.code == "P8"


async def test_bind_step_by_step_and_cancel(
    client: Client, services: Services, registry: None
) -> None:
    assert await say(client, "sim-guest-1", "绑定") == [ZH.t("bind.prompt")]
    assert await say(client, "sim-guest-1", "随便说点") == [ZH.t("bind.format")]
    assert await say(client, "sim-guest-1", "取消") == [ZH.t("bind.cancelled")]
    assert await say(client, "sim-guest-1", "好的，晓得了") == [ZH.t("fallback.chat")]
    assert await say(client, "sim-guest-1", "绑定") == [ZH.t("bind.prompt")]
    assert await say(client, "sim-guest-1", "孙大爷 4444") == [ZH.t("bind.ok", name="孙大爷")]
    assert await bound_person(services, "sim-guest-1") == "孙大爷"


async def test_three_failures_lock_binding(
    client: Client, services: Services, registry: None
) -> None:
    assert await say(client, "sim-guest-2", "绑定 王秀英 0000") == [ZH.t("bind.no_match", left=2)]
    assert await say(client, "sim-guest-2", "绑定 王秀英 0001") == [ZH.t("bind.no_match", left=1)]
    assert await say(client, "sim-guest-2", "绑定 王秀英 0002") == [ZH.t("bind.locked")]
    # even the right digits are refused while locked
    assert await say(client, "sim-guest-2", "绑定 王秀英 1111") == [ZH.t("bind.locked")]
    assert await bound_person(services, "sim-guest-2") is None
    # another account is not locked
    assert await say(client, "sim-guest-1", "绑定 王秀英 1111") == [ZH.t("bind.ok", name="王秀英")]


async def test_lock_lifts_after_an_hour(
    client: Client, services: Services, registry: None
) -> None:
    for digits in ("0000", "0001", "0002"):
        await say(client, "sim-guest-2", f"绑定 王秀英 {digits}")
    if services.settings.redis.url:
        # Redis expires by its own clock: the lock must carry the hour as its TTL
        key = services.kv.keys.bind_failures("sim", "sim-guest-2")
        assert await services.kv.get(key) == "3"
        return
    services.clock.advance(3601)  # type: ignore[attr-defined]
    assert await say(client, "sim-guest-2", "绑定 王秀英 1111") == [ZH.t("bind.ok", name="王秀英")]


async def test_a_person_bound_elsewhere_cannot_be_taken(
    client: Client, services: Services, registry: None
) -> None:
    await say(client, "sim-guest-1", "绑定 王秀英 1111")
    assert await say(client, "sim-guest-2", "绑定 王秀英 1111") == [ZH.t("bind.taken")]
    async with services.uow() as store:
        owners = (await store.session.scalars(select(Identity.external_id))).all()
    assert owners == ["sim-guest-1"]


async def test_bound_person_is_told_so(client: Client, services: Services, registry: None) -> None:
    await enroll(services)
    assert await say(client, "sim-P2", "绑定 李书记 2222") == [ZH.t("bind.already", name="李书记")]


async def test_guest_asking_for_my_info_is_told_to_bind(client: Client, registry: None) -> None:
    assert await say(client, "sim-guest-1", "我的信息") == [ZH.t("refusal.bind_first")]


async def test_cadre_profile_names_role_and_unit(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    info = (await say(client, "sim-P3", "我的信息"))[0]
    assert ZH.t("profile.role", unit="柳树村二网格", role=ZH.t("role.grid_worker")) in info
    elder = (await say(client, "sim-P4", "我的信息"))[0]
    assert ZH.t("profile.elder") in elder


async def test_person_with_english_locale_is_answered_in_english(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    info = (await say(client, "sim-P6", "我的信息"))[0]
    assert info.startswith(EN.t("profile.name", name="Tom Chen"))
    assert (await say(client, "sim-P6", "help"))[0].startswith(
        EN.t("help.title.villager", name="Tom Chen")
    )
