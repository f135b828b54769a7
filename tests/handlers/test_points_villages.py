"""A village's points are its own: through the simulator, on both stacks, the secretary of
another village can neither review this one's claims, nor hand over its redemptions, nor
award its villagers points."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import Services
from bot.i18n import Translations
from storage.importer import import_registry
from storage.models import PointRuleChange
from storage.registry_file import PointsRuleIn
from tests.factories import png
from tests.handlers.support import two_villages
from tests.sim_support import enroll, say, send_photo

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]


async def test_the_secretary_of_another_village_cannot_touch_this_ones_points(
    client: Client, services: Services, registry: None
) -> None:
    await import_registry(services.uow, two_villages(), services.clock.now())
    await enroll(services)
    await send_photo(client, "sim-P1", png(5, 5))
    await say(client, "sim-P1", "申报积分 庭院整洁 扫了院坝")
    assert await say(client, "sim-P9", "通过 1") == [ZH.t("points.not_your_village", number=1)]
    assert await say(client, "sim-P9", "待审积分") == [ZH.t("points.pending_none")]
    assert await say(client, "sim-P9", "加分 王秀英 孝老爱亲 好") == [
        ZH.t("points.no_such_villager", name="王秀英")
    ]
    # 柳树村's own secretary approves it: the claim was untouched
    assert (await say(client, "sim-P2", "通过 1"))[0] == ZH.t(
        "points.approved", number=1, points=3, rule="庭院整洁"
    )


async def test_a_village_has_its_own_version_of_a_rule_through_the_registry(
    client: Client, services: Services, registry: None
) -> None:
    reg = two_villages()
    reg.points_rules.append(
        PointsRuleIn.model_validate(
            {
                "village": "V1",
                "code": "R15",
                "name": "庭院整洁",
                "class": "环境卫生",
                "points": 5,
                "how": "claim",
                "monthly_cap": 5,
                "what": "房前屋后干净，经网格员查看",
            }
        )
    )
    for _ in range(2):  # the same file again changes nothing
        await import_registry(services.uow, reg, services.clock.now())
    async with services.uow() as store:
        kept = await store.session.scalar(select(func.count()).select_from(PointRuleChange))
    assert kept == 1
    await enroll(services)
    (here,) = await say(client, "sim-P1", "积分规则")  # 柳树村
    assert "R15 庭院整洁 +5分（每月最多 5 分）：房前屋后干净，经网格员查看" in here
    (there,) = await say(client, "sim-P9", "积分规则")  # 杨庄村 keeps the default
    assert "R15 庭院整洁 +3分（每月最多 3 分）" in there
    await send_photo(client, "sim-P1", png(5, 5))
    await say(client, "sim-P1", "申报积分 庭院整洁 扫了院坝")
    assert (await say(client, "sim-P2", "通过 1"))[0] == ZH.t(
        "points.approved", number=1, points=5, rule="庭院整洁"
    )
