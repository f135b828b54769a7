"""Two reports are one problem only when they are about the same thing: through the
simulator, a report of the category an open one has is made and the villager asked whether
it is that one (`同一件` joins them), never folded into it by the words alone; a pin within
the radius links it, and `不是同一件` undoes a link (the words and photos become a report of
their own, and the first report's timeline says so)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.i18n import Translations
from storage.models import ReportStatus
from tests.factories import png
from tests.handlers.support import person_id, reports
from tests.sim_support import enroll, pushed, say, send_location, send_photo

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
CADRES = "g-v1-cadres"
GATE = (30.2700, 120.1500)
NEAR_GATE = (30.2700, 120.1505)  # 50 m east


async def test_a_different_problem_of_one_category_is_a_report_of_its_own(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await say(client, "sim-P1", "桥边的垃圾堆了好几天没人清理，臭得很")
    (answer,) = await say(client, "sim-P4", "有人在河边偷倒建筑垃圾，一车一车的")
    first, second = await reports(services)
    assert (first.category, second.category) == ("环境卫生", "环境卫生")
    assert answer.startswith(f"已收到您的上报，编号 #{second.id}")
    assert f"#{first.id}“桥边的垃圾堆了好几天没人清理" in answer  # asked, not folded
    # the villager says nothing more: both stay open, each with its reporter
    assert {r.status for r in await reports(services)} == {ReportStatus.ASSIGNED}


async def test_the_same_one_joins_the_new_report_to_the_open_one(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await say(client, "sim-P1", "桥边的垃圾堆了好几天没人清理，臭得很")
    await send_photo(client, "sim-P4", png(4, 4), caption="桥那头那堆垃圾好几天了都没人来收")
    first, second = await reports(services)
    assert await say(client, "sim-P4", "同一件") == [
        ZH.t("report.duplicate", number=first.id, count=2)
    ]
    first, second = await reports(services)
    assert second.status is ReportStatus.CLOSED
    assert ZH.t(
        "report.merged_group", number=second.id, category="环境卫生", other=first.id
    ) in await pushed(client, services, CADRES)
    async with services.uow() as store:
        assert (await store.reports.reporters([first.id]))[first.id] == 2
        assert len(await store.reports.photos(first.id)) == 1  # the photo came along
    # the second reporter follows the first report now
    (progress,) = await say(client, "sim-P4", f"查进度 {first.id}")
    assert progress.startswith(f"#{first.id} 环境卫生")
    # 同一件 with nothing to join
    assert await say(client, "sim-P4", "同一件") == [ZH.t("report.nothing_to_merge")]


async def test_not_the_same_makes_a_linked_report_one_of_its_own(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await say(client, "sim-P1", "随手拍")
    await say(client, "sim-P1", "跳过")
    await say(client, "sim-P1", "村口的路灯坏了，晚上黑黢黢的")
    await send_location(client, "sim-P1", *GATE, "村口")
    (first,) = await reports(services)
    await say(client, "sim-P4", "随手拍")
    await send_photo(client, "sim-P4", png(4, 4))
    await say(client, "sim-P4", "门口的电线垂下来了，好低")
    (linked,) = await send_location(client, "sim-P4", *NEAR_GATE, "村口东")
    assert (len(await reports(services)), f"#{first.id}" in linked) == (1, True)  # 50 m: linked
    (answer,) = await say(client, "sim-P4", "不是同一件")
    _, own = await reports(services)
    assert answer.startswith(f"已收到您的上报，编号 #{own.id}（路灯电力）")
    assert own.reporter_id == await person_id(services, "P4")
    assert (own.text, own.place) == ("门口的电线垂下来了，好低", "村口东")
    assert own.latitude == NEAR_GATE[0]
    async with services.uow() as store:
        assert len(await store.reports.photos(own.id)) == 1
        assert await store.reports.photos(first.id) == []
        assert (await store.reports.reporters([first.id]))[first.id] == 1
    (view,) = await say(client, "sim-P1", f"查进度 {first.id}")
    assert view.splitlines()[-1].endswith(ZH.t("report.event.unlinked", time="").strip())
    assert await say(client, "sim-P4", "不是同一件") == [ZH.t("report.not_linked")]
