"""A village's points are its own: through the simulator, on both stacks, the secretary of
another village can neither review this one's claims, nor hand over its redemptions, nor
award its villagers points."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.i18n import Translations
from storage.importer import import_registry, read_registry
from storage.registry_file import PersonIn, RoleIn, UnitIn
from tests.conftest import DATA
from tests.factories import png
from tests.sim_support import enroll, say, send_photo

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]


async def test_the_secretary_of_another_village_cannot_touch_this_ones_points(
    client: Client, services: Services, registry: None
) -> None:
    reg = read_registry(DATA / "registry.yaml")
    township = reg.org.children[0]
    township.children.append(UnitIn(code="V2", name="杨庄村", level="village"))
    reg.people.append(
        PersonIn(
            code="P9",
            name="杨书记",
            phone="13900009999",
            village="V2",
            roles=[RoleIn(role="village_secretary", unit="V2")],
        )
    )
    await import_registry(services.uow, reg, services.clock.now())
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
