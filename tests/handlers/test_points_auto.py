"""Points the bot's own events earn, each once, through the simulator on both stacks: a fix
the reporter confirms (满意) and one closed after it went unanswered give 有效上报, a report
refused gives nothing, and a caretaker's 已上门 gives 关爱老人, once per alert."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from scheduler.jobs import JOBS, JobContext
from storage.models import Household, OrgUnit, Person, PointEntry
from tests.factories import png
from tests.handlers.support import reports
from tests.sim_support import enroll, say, send_photo

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
EARNED_REPORT = ZH.t("points.earned", rule="有效上报", points=2)


async def entries(services: Services) -> list[tuple[str, int, str | None]]:
    async with services.uow() as store:
        rows = (await store.session.scalars(select(PointEntry).order_by(PointEntry.id))).all()
        return [(e.rule, e.points, e.source) for e in rows]


async def fixed(client: Client, words: str) -> int:
    """A report of P1's, resolved by the secretary with a photo; its number."""
    (made,) = await say(client, "sim-P1", words)
    number = int(made.split("#")[1].split("（")[0])
    await say(client, "sim-P2", f"办结 {number} 修好了")
    await send_photo(client, "sim-P2", png(7, 7))
    return number


async def test_a_confirmed_fix_earns_once_and_a_refused_report_nothing(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    number = await fixed(client, "村口路灯坏了，晚上黑黢黢的")
    (thanks,) = await say(client, "sim-P1", f"满意 {number}")
    assert thanks == ZH.t("report.thanks", number=number) + "\n" + EARNED_REPORT
    assert await entries(services) == [("R21", 2, f"report:{number}")]
    # said again: nothing more (the report is closed, and its source has earned)
    await say(client, "sim-P1", f"满意 {number}")
    assert len(await entries(services)) == 1
    # a report the village refuses earns nothing
    await say(client, "sim-P1", "二组水渠被泥巴堵死了")
    refused = (await reports(services))[-1].id
    await say(client, "sim-P2", f"退回 {refused} 已经是修好的")
    await say(client, "sim-P1", f"满意 {refused}")
    assert len(await entries(services)) == 1


async def test_a_fix_closed_unanswered_earns_once_however_often_the_sweep_runs(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    await enroll(services)
    number = await fixed(client, "村口路灯坏了，晚上黑黢黢的")
    clock.advance(8 * 86400)
    job = JOBS["close-resolved"]
    for _ in range(2):
        await job.run(JobContext(services.uow, services.settings, Translations(), clock.now()))
    assert await entries(services) == [("R21", 2, f"report:{number}")]


async def test_a_caretakers_visit_earns_care_points_once_per_alert(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    async with services.uow() as store:  # 赵网格, 孙大爷's caretaker, lives in a household
        village = await store.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "V1"))
        home = Household(code="H9", village_id=village, address="柳树村2组9号")
        store.session.add(home)
        await store.session.flush()
        caretaker = await store.session.scalar(select(Person).where(Person.code == "P3"))
        assert caretaker is not None
        caretaker.household_id = home.id
    await say(client, "sim-P4", "救命")  # an SOS: an alert to visit
    (visited,) = await say(client, "sim-P3", "已上门 孙大爷 没得事了")
    assert visited.endswith(ZH.t("points.earned", rule="关爱老人", points=3))
    (again,) = await say(client, "sim-P3", "已上门 孙大爷 又去看了")  # no alert: once a day
    assert again.endswith(ZH.t("points.earned", rule="关爱老人", points=3))
    (third,) = await say(client, "sim-P3", "已上门 孙大爷 晚上又看了一眼")
    assert ZH.t("points.earned", rule="关爱老人", points=3) not in third
    rules = [(rule, points) for rule, points, _ in await entries(services)]
    assert rules == [("R05", 3), ("R05", 3)]
    # family visiting their own is kin, not a civic act: 孙小明 earns nothing
    await say(client, "sim-P5", "已上门 孙大爷 陪他吃了饭")
    assert len(await entries(services)) == 2
