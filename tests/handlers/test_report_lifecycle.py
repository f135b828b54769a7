"""A 随手拍 report's life after intake, through the simulator on both stacks: 办结 with a
proof photo, 满意 / 不满意, the automatic close, 转派, 退回, 升级, and who may do what."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from scheduler.jobs import JobContext
from scheduler.sweeps import JOBS
from storage.models import ReportPhoto, ReportStatus, Role
from tests.factories import png
from tests.handlers.support import (
    add_cadre_group,
    give_role,
    mentions_in,
    person_id,
    reports,
    unit_id,
)
from tests.sim_support import enroll, pushed, say, send_photo

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
CADRES = "g-v1-cadres"


def fix_photo() -> bytes:
    return png(3, 3)  # other bytes than the reporter's photo


async def lamp_report(client: Client, services: Services) -> int:
    await enroll(services)
    await say(client, "sim-P1", "村口路灯坏了")
    (report,) = await reports(services)
    return report.id


async def timeline(services: Services, number: int) -> list[str]:
    async with services.uow() as store:
        return [e.kind for e in await store.reports.timeline(number)]


async def resolve_with_photo(client: Client, number: int, cadre: str = "sim-P2") -> str:
    assert await say(client, cadre, f"办结 {number} 灯泡已换") == [
        ZH.t("report.resolve_needs_photo", number=number)
    ]
    (answer,) = await send_photo(client, cadre, fix_photo())
    return answer


async def test_a_report_is_resolved_with_a_proof_photo_and_the_villager_confirms(
    client: Client, services: Services, registry: None
) -> None:
    number = await lamp_report(client, services)
    await say(client, "sim-P2", f"接单 {number}", chat=CADRES, mentioned=True)
    # 办结 without a photo is refused with a hint; nothing changes
    assert await say(client, "sim-P2", f"办结 {number} 灯泡已换") == [
        ZH.t("report.resolve_needs_photo", number=number)
    ]
    (report,) = await reports(services)
    assert report.status is ReportStatus.IN_PROGRESS
    # the photo that follows completes it, marked as the proof
    assert await send_photo(client, "sim-P2", fix_photo()) == [
        ZH.t("report.resolved", number=number)
    ]
    (report,) = await reports(services)
    assert report.status is ReportStatus.RESOLVED
    assert report.resolved_at is not None
    async with services.uow() as store:
        photos = (await store.session.scalars(select(ReportPhoto))).all()
    (proof,) = [p for p in photos if p.proof]
    assert services.media.path(proof.media).read_bytes() == fix_photo()
    # the villager is told, with the photo's link and how to answer
    told = (await pushed(client, services, "sim-P1"))[-1]
    assert told == ZH.t(
        "report.resolved_villager",
        number=number,
        note="灯泡已换",
        link=f"/media/{proof.media}",
        days=7,
    )
    assert (await client.get(f"/media/{proof.media}")).status == 200
    # the villager confirms: closed, satisfied, and the cadre group hears it
    assert await say(client, "sim-P1", f"满意 {number}") == [
        ZH.t("report.thanks", number=number)
        + "\n"
        + ZH.t("points.earned", rule="有效上报", points=2)  # 王秀英's household
    ]
    (report,) = await reports(services)
    assert (report.status, report.satisfied) == (ReportStatus.CLOSED, True)
    assert report.closed_at is not None
    group = await pushed(client, services, CADRES)
    assert group[-1] == ZH.t("report.confirmed_group", number=number, category="路灯电力")
    assert await timeline(services, number) == [
        "submitted",
        "assigned",
        "accepted",
        "resolved",
        "confirmed",
    ]
    # 查看 lists both photos kinds and the timeline
    (view,) = await say(client, "sim-P2", f"查看 {number}")
    assert ZH.t("report.view.proof_photo", link=f"/media/{proof.media}") in view
    assert "灯泡已换" in view


async def test_a_photo_sent_just_before_resolve_is_its_proof(
    client: Client, services: Services, registry: None
) -> None:
    number = await lamp_report(client, services)
    # a cadre's photo could be a report or a fix: the bot asks which
    assert await send_photo(client, "sim-P2", fix_photo()) == [ZH.t("report.photo_received_cadre")]
    assert await say(client, "sim-P2", f"办结 {number}") == [
        ZH.t("report.resolved", number=number)
    ]
    (report,) = await reports(services)  # the photo made no report of its own
    assert report.status is ReportStatus.RESOLVED
    assert report.accepted_at == report.resolved_at  # fixed without a 接单 first
    async with services.uow() as store:
        (photo,) = await store.reports.photos(number)
    assert photo.proof


async def test_not_satisfied_reopens_it_for_the_same_cadre(
    client: Client, services: Services, registry: None
) -> None:
    number = await lamp_report(client, services)
    await say(client, "sim-P2", f"接单 {number}")
    await resolve_with_photo(client, number)
    assert await say(client, "sim-P1", f"不满意 {number} 晚上还是不亮") == [
        ZH.t("report.reopened", number=number)
    ]
    (report,) = await reports(services)
    assert (report.status, report.satisfied, report.resolved_at) == (
        ReportStatus.REOPENED,
        False,
        None,
    )
    group = await pushed(client, services, CADRES)
    assert group[-1] == ZH.t(
        "report.reopened_group",
        number=number,
        category="路灯电力",
        reason="晚上还是不亮",
        who="李书记",  # named, as well as @mentioned
    )
    assert (await mentions_in(services, CADRES))[-1] == ["sim-P2"]  # the assignee, @mentioned
    # fixed again, confirmed this time
    assert await resolve_with_photo(client, number) == ZH.t("report.resolved", number=number)
    assert await say(client, "sim-P1", "满意") == [
        ZH.t("report.thanks", number=number)
        + "\n"
        + ZH.t("points.earned", rule="有效上报", points=2)
    ]
    (report,) = await reports(services)
    assert (report.status, report.satisfied) == (ReportStatus.CLOSED, True)


async def test_a_fix_nobody_answers_closes_after_seven_days_not_as_satisfied(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    first = await lamp_report(client, services)
    await say(client, "sim-P1", "二组水渠堵了")
    _, second = await reports(services)
    await resolve_with_photo(client, first)
    clock.advance(2 * 86400)
    await resolve_with_photo(client, second.id)
    job = JOBS["close-resolved"]

    async def run_after(days: float) -> int:
        clock.advance(days * 86400)
        return await job.run(
            JobContext(services.uow, services.settings, Translations(), clock.now())
        )

    assert await run_after(4) == 0  # six days after the first fix: not yet
    assert await run_after(1.1) == 1  # past seven days for the first only
    assert await run_after(0) == 0  # run again: nothing twice
    closed, still = await reports(services)
    assert (closed.status, closed.satisfied) == (ReportStatus.CLOSED, None)
    assert still.status is ReportStatus.RESOLVED
    assert (await timeline(services, first))[-1] == "auto_closed"
    assert (await pushed(client, services, "sim-P1"))[-1] == ZH.t(
        "report.auto_closed_villager", number=first, days=7
    )
    # too late to answer now
    assert await say(client, "sim-P1", f"满意 {first}") == [
        ZH.t("report.not_resolved", number=first, status=ZH.t("report.status.closed"))
    ]


async def test_reassign_hands_it_to_another_cadre_of_the_tier(
    client: Client, services: Services, registry: None
) -> None:
    number = await lamp_report(client, services)
    assert await say(client, "sim-P2", f"转派 {number}") == [ZH.t("report.reassign_usage")]
    (unknown,) = await say(client, "sim-P2", f"转派 {number} 周镇长")  # not of this village
    assert unknown == ZH.t("report.reassign_unknown", name="周镇长", names="李书记、赵网格")
    assert await say(client, "sim-P2", f"转派 {number} @赵网格") == [
        ZH.t("report.reassigned", number=number, name="赵网格")
    ]
    (report,) = await reports(services)
    assert (report.assignee_id, report.status) == (
        await person_id(services, "P3"),
        ReportStatus.ASSIGNED,
    )
    group = await pushed(client, services, CADRES)
    assert group[-1] == ZH.t(
        "report.reassigned_group", number=number, category="路灯电力", who="赵网格", by="李书记"
    )
    assert (await mentions_in(services, CADRES))[-1] == ["sim-P3"]
    assert (await pushed(client, services, "sim-P1"))[-1] == ZH.t(
        "report.reassigned_villager", number=number, role=ZH.t("role.grid_worker")
    )
    assert await say(client, "sim-P3", f"接单 {number}") == [
        ZH.t("report.accepted", number=number, category="路灯电力")
    ]


async def test_reassign_to_one_of_two_cadres_of_the_same_name_asks_which(
    client: Client, services: Services, registry: None
) -> None:
    number = await lamp_report(client, services)
    for code in ("P1", "P8"):  # two 王秀英 in 柳树村, both made grid workers
        await give_role(services, code, "G1", Role.GRID_WORKER)
    assert await say(client, "sim-P2", f"转派 {number} 王秀英") == [
        ZH.t(
            "report.reassign_which",
            number=number,
            name="王秀英",
            last4="1111、8888",
            example="1111",
        )
    ]
    (report,) = await reports(services)
    assert report.assignee_id != await person_id(services, "P8")  # nothing done yet
    assert await say(client, "sim-P2", f"转派 {number} 王秀英 8888") == [
        ZH.t("report.reassigned", number=number, name="王秀英")
    ]
    (report,) = await reports(services)
    assert report.assignee_id == await person_id(services, "P8")


async def test_reject_needs_a_reason_and_tells_the_villager(
    client: Client, services: Services, registry: None
) -> None:
    number = await lamp_report(client, services)
    assert await say(client, "sim-P2", f"退回 {number}") == [
        ZH.t("report.reason_usage", command="退回")
    ]
    assert await say(client, "sim-P2", f"退回 {number}：供电所已在修") == [
        ZH.t("report.rejected", number=number)
    ]
    (report,) = await reports(services)
    assert report.status is ReportStatus.REJECTED
    assert report.closed_at is not None
    assert (await pushed(client, services, "sim-P1"))[-1] == ZH.t(
        "report.rejected_villager", number=number, reason="供电所已在修"
    )
    # a rejected report takes no more steps
    closed = ZH.t("report.not_open", number=number, status=ZH.t("report.status.rejected"))
    assert await say(client, "sim-P2", f"接单 {number}") == [closed]
    assert await say(client, "sim-P2", f"办结 {number}") == [closed]


async def test_escalation_climbs_village_township_county_and_moves_who_may_act(
    client: Client, services: Services, registry: None
) -> None:
    await give_role(services, "P5", "C1", Role.COUNTY_CADRE)
    number = await lamp_report(client, services)
    assert await say(client, "sim-P2", f"升级 {number}") == [
        ZH.t("report.reason_usage", command="升级")
    ]
    assert await say(client, "sim-P2", f"升级 {number} 需要供电所换变压器") == [
        ZH.t("report.escalated", number=number, unit="河口镇")
    ]
    (report,) = await reports(services)
    assert (report.unit_id, report.status, report.assignee_id) == (
        await unit_id(services, "T1"),
        ReportStatus.ESCALATED,
        None,
    )
    township = await pushed(client, services, "g-t1-cadres")
    assert township[-1].startswith(f"【随手拍 #{number} 升级】路灯电力")
    assert "需要供电所换变压器" in township[-1]
    assert "王秀英" in township[-1]
    assert (await pushed(client, services, "sim-P1"))[-1] == ZH.t(
        "report.escalated_villager", number=number, unit="河口镇"
    )
    # the village may no longer act; the township may
    assert await say(client, "sim-P2", f"接单 {number}") == [
        ZH.t("report.not_your_tier", number=number)
    ]
    assert await say(client, "sim-P7", f"接单 {number}") == [
        ZH.t("report.accepted", number=number, category="路灯电力")
    ]
    # the county has no cadre group yet: the township cadre is told to phone
    assert await say(client, "sim-P7", f"升级 {number} 跨镇的线路") == [
        ZH.t("report.escalated_no_group", number=number, unit="测试县")
    ]
    await add_cadre_group(services, "C1", "g-c1-cadres")
    assert await say(client, "sim-P5", f"升级 {number} 再往上") == [
        ZH.t("report.escalate_top", number=number)
    ]
    assert await say(client, "sim-P5", f"接单 {number}") == [
        ZH.t("report.accepted", number=number, category="路灯电力")
    ]
    kinds = await timeline(services, number)
    assert kinds.count("escalated") == 2


async def test_who_may_do_what(client: Client, services: Services, registry: None) -> None:
    number = await lamp_report(client, services)
    # villagers may not handle reports
    assert await say(client, "sim-P4", f"办结 {number}") == [ZH.t("refusal.not_permitted")]
    assert await say(client, "sim-P4", f"退回 {number} 不管") == [ZH.t("refusal.not_permitted")]
    # a township cadre is not of the tier that holds it
    assert await say(client, "sim-P7", f"办结 {number}") == [
        ZH.t("report.not_your_tier", number=number)
    ]
    assert await say(client, "sim-P7", f"转派 {number} 赵网格") == [
        ZH.t("report.not_your_tier", number=number)
    ]
    # only the reporter has the last word, and only once it is resolved
    assert await say(client, "sim-P1", f"满意 {number}") == [
        ZH.t("report.not_resolved", number=number, status=ZH.t("report.status.assigned"))
    ]
    await resolve_with_photo(client, number)
    assert await say(client, "sim-P4", f"满意 {number}") == [
        ZH.t("report.not_yours", number=number)
    ]
    # with no number: the one report waiting for their word, but not when two are
    await say(client, "sim-P1", "二组水渠堵了")
    _, second = await reports(services)
    await resolve_with_photo(client, second.id)
    assert await say(client, "sim-P1", "满意") == [ZH.t("report.verdict_usage")]
    assert {r.status for r in await reports(services)} == {ReportStatus.RESOLVED}
