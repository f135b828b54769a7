"""A village cadre's 加分 and 扣分 through the simulator, on both stacks: two villagers of one
name told apart by their phone's last digits, a deduction needing its reason, the household
told, and the monthly cap holding."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.i18n import Translations
from storage.models import Household, Person
from tests.sim_support import enroll, pushed, say

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
SECRETARY = "sim-P2"


async def test_award_and_deduction_tell_two_of_one_name_apart(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    async with services.uow() as store:  # the second 王秀英 lives in 孙大爷's household
        h2 = await store.session.scalar(select(Household.id).where(Household.code == "H2"))
        other = await store.session.scalar(select(Person).where(Person.code == "P8"))
        assert other is not None
        other.household_id = h2
    (which,) = await say(client, SECRETARY, "加分 王秀英 孝老爱亲 照顾瘫痪的婆婆")
    assert which.startswith("本村有几位都叫王秀英（手机尾号 1111、8888）")
    (entered,) = await say(client, SECRETARY, "加分 王秀英 1111 孝老爱亲 照顾瘫痪的婆婆")
    assert entered == ZH.t(
        "points.entered", name="王秀英", rule="孝老爱亲", points="+10", balance=10
    )
    assert (await pushed(client, services, "sim-P1"))[-1] == ZH.t(
        "points.entered_villager", rule="孝老爱亲", points="+10", note="照顾瘫痪的婆婆", balance=10
    )
    # the cap: 孝老爱亲 gives at most 10 a month
    (capped,) = await say(client, SECRETARY, "加分 王秀英 1111 孝老爱亲 又照顾了")
    assert capped == ZH.t("points.cap_reached", rule="孝老爱亲", cap=10)
    # a deduction needs its reason, and only a deduction rule deducts
    assert await say(client, SECRETARY, "扣分 王秀英 1111 焚烧秸秆") == [
        ZH.t("points.deduct_needs_reason")
    ]
    assert await say(client, SECRETARY, "扣分 王秀英 1111 孝老爱亲 乱说") == [
        ZH.t("points.deduct_usage")
    ]
    (deducted,) = await say(client, SECRETARY, "扣分 王秀英 1111 焚烧秸秆 11月5日在田里烧")
    assert deducted == ZH.t(
        "points.entered", name="王秀英", rule="焚烧秸秆", points="-10", balance=0
    )
    # points belong to the household: 孙大爷 sees what was entered for the other 王秀英
    (second,) = await say(client, SECRETARY, "加分 王秀英 8888 孝老爱亲 照顾孙大爷")
    assert second.endswith("现有 10 分。")
    (grandpa,) = await say(client, "sim-P4", "我的积分")
    assert grandpa.splitlines()[0] == ZH.t("points.mine", balance=10, rank=1, households=2)
    # not a villager of this village, and not a cadre's command for a villager
    assert await say(client, SECRETARY, "加分 周镇长 孝老爱亲 好") == [
        ZH.t("points.no_such_villager", name="周镇长")
    ]
    assert await say(client, "sim-P4", "加分 王秀英 1111 孝老爱亲 好") == [
        ZH.t("refusal.not_permitted")
    ]


async def test_points_stats_show_each_village_and_its_participation(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await say(client, SECRETARY, "加分 王秀英 孝老爱亲 照顾婆婆")
    line = ZH.t(
        "points.stats_line", village="柳树村", held=10, entries=1, active=1, homes=2, rate="50%"
    )
    (township,) = await say(client, "sim-P7", "积分统计")  # 周镇长 reads every village below
    assert township.splitlines()[1] == line
    (village,) = await say(client, SECRETARY, "积分统计")
    assert village.splitlines()[1] == line
    assert await say(client, "sim-P1", "积分统计") == [ZH.t("refusal.not_permitted")]
