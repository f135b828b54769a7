"""Guesses at one person from many accounts, through the simulator on both stacks: past five
failures a right answer waits for the village cadres, who approve (bound and told) or refuse
(told to ask the village); only the village's own cadres decide; the count is per person;
each account's own lock-out still holds."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.i18n import Translations
from storage.importer import import_registry
from tests.handlers.support import two_villages
from tests.sim_support import pushed, say

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
CADRES = "g-v1-cadres"  # 柳树村两委群
HELD = ZH.t("bind.held", name="王秀英")


async def bound_person(services: Services, external_id: str) -> str | None:
    async with services.uow() as store:
        person = await store.identities.person_for("sim", external_id)
    return person.name if person else None


async def secretary(client: Client) -> None:
    """李书记 of 柳树村 binds his own account, as any cadre does."""
    assert await say(client, "sim-P2", "绑定 李书记 2222") == [ZH.t("bind.ok", name="李书记")]


async def five_wrong_guesses(client: Client) -> None:
    """Five accounts, one wrong guess each at 王秀英: none is locked out on its own."""
    for i in range(5):
        answer = await say(client, f"sim-guess-{i}", f"绑定 王秀英 00{i}0")
        assert answer == [ZH.t("bind.no_match", left=2)]


async def held_request(client: Client, services: Services) -> str:
    """The sixth account sends the right digits: held, and the village cadres told. Returns
    the notice."""
    await secretary(client)
    await five_wrong_guesses(client)
    assert await say(client, "sim-guess-5", "绑定 王秀英 1111") == [HELD]
    assert await bound_person(services, "sim-guess-5") is None
    return (await pushed(client, services, CADRES))[-1]


async def test_a_right_answer_after_five_failures_waits_for_the_village(
    client: Client, services: Services, registry: None
) -> None:
    notice = await held_request(client, services)
    assert notice == ZH.t(
        "bind.review_group",
        number=1,
        name="王秀英",
        phone="139****1111",
        channel="sim",
        account="sim-guess-5",
        failures=5,
    )
    assert "1111" not in notice.replace("139****1111", "")  # only the masked phone
    told = len(await pushed(client, services, CADRES))
    # a wrong guess now gets the very same answer, and the cadres hear nothing of it
    assert await say(client, "sim-guess-6", "绑定 王秀英 4321") == [HELD]
    # the account that asked, asking again, makes no second notice
    assert await say(client, "sim-guess-5", "绑定 王秀英 1111") == [HELD]
    assert len(await pushed(client, services, CADRES)) == told
    assert await bound_person(services, "sim-guess-5") is None


async def test_a_village_cadre_approves_and_the_account_is_bound_and_told(
    client: Client, services: Services, registry: None
) -> None:
    await held_request(client, services)
    # approved in the cadre group: the group reads who approved, as the answer there
    approved = await say(client, "sim-P2", "批准绑定 1", CADRES, mentioned=True)
    assert approved == [ZH.t("bind.approved_group", number=1, cadre="李书记", name="王秀英")]
    assert await bound_person(services, "sim-guess-5") == "王秀英"
    assert (await pushed(client, services, "sim-guess-5"))[-1] == ZH.t(
        "bind.approved_villager", name="王秀英"
    )
    # the account is a villager at once
    assert "139****1111" in (await say(client, "sim-guess-5", "我的信息"))[0]
    # a request is decided once
    assert await say(client, "sim-P2", "批准绑定 1") == [ZH.t("bind.review_none", number=1)]


async def test_a_refusal_binds_nothing_and_tells_the_account_to_ask_the_village(
    client: Client, services: Services, registry: None
) -> None:
    await held_request(client, services)
    # refused 1:1: the secretary is answered, the cadre group and the account are told
    assert await say(client, "sim-P2", "拒绝绑定 1") == [
        ZH.t("bind.refused", number=1, name="王秀英")
    ]
    assert (await pushed(client, services, CADRES))[-1] == ZH.t(
        "bind.refused_group", number=1, cadre="李书记", name="王秀英"
    )
    assert (await pushed(client, services, "sim-guess-5"))[-1] == ZH.t("bind.refused_villager")
    assert await bound_person(services, "sim-guess-5") is None
    # and that account does not go straight back to guessing
    assert await say(client, "sim-guess-5", "绑定 王秀英 1111") == [ZH.t("bind.locked")]
    assert await say(client, "sim-P2", "批准绑定 1") == [ZH.t("bind.review_none", number=1)]


async def test_only_the_villages_own_cadres_decide(client: Client, services: Services) -> None:
    await import_registry(services.uow, two_villages(), services.clock.now())
    await held_request(client, services)
    # a villager (孙小明) and a grid worker (赵网格) are no village cadres
    assert await say(client, "sim-p5", "绑定 孙小明 5555") == [ZH.t("bind.ok", name="孙小明")]
    assert await say(client, "sim-p3", "绑定 赵网格 3333") == [ZH.t("bind.ok", name="赵网格")]
    for sender in ("sim-p5", "sim-p3"):
        assert await say(client, sender, "批准绑定 1") == [ZH.t("refusal.not_permitted")]
    # the secretary of 杨庄村 is a village cadre, but not of 王秀英's village
    assert await say(client, "sim-p9", "绑定 杨书记 9999") == [ZH.t("bind.ok", name="杨书记")]
    for command in ("批准绑定 1", "拒绝绑定 1"):
        assert await say(client, "sim-p9", command) == [ZH.t("bind.review_not_yours", number=1)]
    assert await bound_person(services, "sim-guess-5") is None
    # the request still waits for 柳树村; a number is needed, and must be one that waits
    assert await say(client, "sim-P2", "批准绑定") == [
        ZH.t("bind.review_usage", command="批准绑定")
    ]
    assert await say(client, "sim-P2", "批准绑定 7") == [ZH.t("bind.review_none", number=7)]
    assert await say(client, "sim-P2", "批准绑定 1") == [
        ZH.t("bind.approved", number=1, name="王秀英")
    ]


async def test_the_count_is_per_person(client: Client, services: Services, registry: None) -> None:
    await five_wrong_guesses(client)
    # 孙大爷 was not guessed at: he binds as ever
    assert await say(client, "sim-guess-6", "绑定 孙大爷 4444") == [ZH.t("bind.ok", name="孙大爷")]
    # a wrong guess at a name is a guess at everyone of that name: the other 王秀英 waits too
    assert await say(client, "sim-guess-7", "绑定 王秀英 8888") == [HELD]
    assert await bound_person(services, "sim-guess-7") is None


async def test_an_accounts_own_lock_out_still_holds(
    client: Client, services: Services, registry: None
) -> None:
    await five_wrong_guesses(client)
    # guesses at a held person count against the account, right or wrong alike
    for _ in range(3):
        assert await say(client, "sim-guess-8", "绑定 王秀英 1111") == [HELD]
    assert await say(client, "sim-guess-8", "绑定 王秀英 1111") == [ZH.t("bind.locked")]
    # and below the per-person count, three failures of one account lock it as before
    for left, digits in ((2, "0001"), (1, "0002")):
        assert await say(client, "sim-guess-9", f"绑定 孙大爷 {digits}") == [
            ZH.t("bind.no_match", left=left)
        ]
    assert await say(client, "sim-guess-9", "绑定 孙大爷 0003") == [ZH.t("bind.locked")]
    assert await say(client, "sim-guess-9", "绑定 孙大爷 4444") == [ZH.t("bind.locked")]


async def test_a_failure_is_logged_without_the_digits(
    client: Client, services: Services, registry: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="handlers.binding"):
        await say(client, "sim-guess-1", "绑定 孙大爷 9876")
    (line,) = [r.getMessage() for r in caplog.records if "binding failed" in r.getMessage()]
    async with services.uow() as store:
        (elder,) = await store.people.named("孙大爷")
    assert "sim/sim-guess-1" in line
    assert f"person {elder.id}" in line
    assert "9876" not in caplog.text
    assert "4444" not in caplog.text


async def test_the_village_cadres_menu_offers_the_review(
    client: Client, services: Services, registry: None
) -> None:
    await secretary(client)
    assert ZH.t("menu.bind_review") in (await say(client, "sim-P2", "帮助"))[0]
    assert await say(client, "sim-p3", "绑定 赵网格 3333") == [ZH.t("bind.ok", name="赵网格")]
    assert ZH.t("menu.bind_review") not in (await say(client, "sim-p3", "帮助"))[0]
    assert ZH.t("menu.bind_review") not in (await say(client, "sim-guest", "帮助"))[0]
