"""随手拍 intake in every form people send it, through the simulator on both stacks: a photo
with its caption, the guided mode, location pins, group chats, 匿名, and the link to an open
report of the same problem."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from storage.models import ReportStatus
from tests.factories import png
from tests.handlers.support import person_id, reports
from tests.sim_support import enroll, pushed, say, send_location, send_photo

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
CADRES = "g-v1-cadres"
RESIDENTS = "g-v1-residents"
# two spots in 柳树村: the village gate, 50 m east of it, and the school 1.1 km north
GATE = (30.2700, 120.1500)
NEAR_GATE = (30.2700, 120.1505)
SCHOOL = (30.2800, 120.1500)


async def test_a_photo_with_its_caption_is_a_report_at_once(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    (answer,) = await send_photo(client, "sim-P1", png(), caption="村口垃圾没人收")
    (report,) = await reports(services)
    assert answer.startswith(f"已收到您的上报，编号 #{report.id}（环境卫生）")
    async with services.uow() as store:
        assert len(await store.reports.photos(report.id)) == 1


async def test_several_photos_then_words_make_one_report(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    assert await send_photo(client, "sim-P1", png()) == [ZH.t("report.photo_received")]
    assert await send_photo(client, "sim-P1", png(3, 3)) == []  # one answer for a burst
    await say(client, "sim-P1", "桥上护栏断了")
    (report,) = await reports(services)
    assert report.category == "道路交通"
    async with services.uow() as store:
        assert len(await store.reports.photos(report.id)) == 2


async def test_guided_mode_asks_photo_what_where_and_submits(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    assert await say(client, "sim-P1", "随手拍") == [ZH.t("report.guide.photo")]
    assert await send_photo(client, "sim-P1", png()) == [ZH.t("report.guide.what")]
    # what happened, in the villager's words, even when they start with a command word
    words = "通知说要修的水沟又堵了，雨天漫到路上"
    assert await say(client, "sim-P1", words) == [ZH.t("report.guide.where")]
    (answer,) = await send_location(client, "sim-P1", *GATE, "柳树村村口")
    (report,) = await reports(services)
    assert f"#{report.id}" in answer
    assert (report.category, report.text, report.place) == (
        "水利设施",
        words,
        "柳树村村口",
    )
    assert (report.latitude, report.longitude) == GATE
    async with services.uow() as store:
        assert len(await store.reports.photos(report.id)) == 1
    (announced,) = await pushed(client, services, CADRES)
    assert "地点：柳树村村口" in announced


async def test_guided_mode_steps_can_be_skipped_or_cancelled(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await say(client, "sim-P1", "随手拍")
    assert await say(client, "sim-P1", "取消") == [ZH.t("report.guide.cancelled")]
    assert await reports(services) == []
    # no photo: the words come at once, then the place in words
    await say(client, "sim-P1", "随手拍")
    assert await say(client, "sim-P1", "有人在河边烧秸秆") == [ZH.t("report.guide.where")]
    await say(client, "sim-P1", "河堤南头")
    (report,) = await reports(services)
    assert (report.category, report.place) == ("环境卫生", "河堤南头")
    # nothing at all: nothing is reported
    await say(client, "sim-P1", "随手拍")
    await say(client, "sim-P1", "跳过")
    await say(client, "sim-P1", "跳过")
    assert await say(client, "sim-P1", "跳过") == [ZH.t("report.guide.empty")]
    assert len(await reports(services)) == 1


async def test_a_location_pin_after_the_report_says_where_it_is(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await say(client, "sim-P1", "村口路灯坏了")
    (report,) = await reports(services)
    assert await send_location(client, "sim-P1", *GATE, "村口") == [
        ZH.t("report.place_added", number=report.id)
    ]
    (report,) = await reports(services)
    assert (report.latitude, report.longitude, report.place) == (*GATE, "村口")


async def test_in_a_group_the_bot_takes_reports_only_when_spoken_to(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    assert await say(client, "sim-P1", "村口路灯坏了", chat=RESIDENTS) == []
    assert await reports(services) == []
    (answer,) = await say(client, "sim-P1", "村口路灯坏了", chat=RESIDENTS, mentioned=True)
    (report,) = await reports(services)
    assert f"#{report.id}" in answer
    # answers to the reporter go back to that group, @mentioning them
    await say(client, "sim-P2", f"接单 {report.id}")
    told = (await pushed(client, services, RESIDENTS))[-1]
    assert told == ZH.t(
        "report.accepted_villager", number=report.id, role=ZH.t("role.village_secretary")
    )


async def test_anonymous_hides_the_name_except_from_a_cadre_in_private(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await say(client, "sim-P1", "匿名 后山有人聚众赌博")
    (report,) = await reports(services)
    assert (report.anonymous, report.text, report.category) == (
        True,
        "后山有人聚众赌博",
        "治安隐患",
    )
    (announced,) = await pushed(client, services, CADRES)
    assert "王秀英" not in announced
    assert ZH.t("report.anonymous") in announced
    (in_group,) = await say(client, "sim-P2", f"查看 {report.id}", chat=CADRES, mentioned=True)
    assert "王秀英" not in in_group
    (private,) = await say(client, "sim-P2", f"查看 {report.id}")
    assert ZH.t("report.anonymous_private", name="王秀英") in private


async def test_the_same_problem_reported_again_is_linked_not_repeated(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await say(client, "sim-P1", "村口路灯坏了")
    (first,) = await reports(services)
    # words alone do not decide it: the report is made, and the villager asked
    (asked,) = await say(client, "sim-P4", "路灯不亮了")
    assert ZH.t("report.maybe_same", number=first.id, text="村口路灯坏了") in asked
    _, made = await reports(services)
    assert await say(client, "sim-P4", "同一件") == [
        ZH.t("report.duplicate", number=first.id, count=2)
    ]
    assert [r.status for r in await reports(services)] == [
        ReportStatus.ASSIGNED,
        ReportStatus.CLOSED,
    ]
    group = await pushed(client, services, CADRES)
    assert group[-1] == ZH.t(
        "report.also_reported_group", number=first.id, category="路灯电力", count=2, photos=0
    )
    (view,) = await say(client, "sim-P2", f"查看 {first.id}")
    assert ZH.t("report.view.reporters", count=2) in view
    # the one who reported it again follows it: 查进度, and the fix
    (progress,) = await say(client, "sim-P4", f"查进度 {first.id}")
    assert progress.startswith(f"#{first.id} 路灯电力")
    await say(client, "sim-P2", f"办结 {first.id}")
    await send_photo(client, "sim-P2", png(3, 3))
    assert (await pushed(client, services, "sim-P4"))[-1].startswith(
        ZH.t("report.resolved_follower", number=first.id, note="已处理好", link="").split("：")[0]
    )
    # once resolved it is no longer open: the same words make a new report
    (answer,) = await say(client, "sim-P1", "路灯还是坏的")
    *_, second = await reports(services)
    assert second.id == made.id + 1
    assert f"#{second.id}" in answer
    assert ZH.t("report.maybe_same", number=first.id, text="村口路灯坏了") not in answer


async def test_a_repeat_by_the_reporter_adds_to_their_report(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await say(client, "sim-P1", "村口路灯坏了")
    (first,) = await reports(services)
    await send_photo(client, "sim-P1", png(3, 3))
    (asked,) = await say(client, "sim-P1", "就是这个路灯")
    assert ZH.t("report.maybe_yours", number=first.id, text="村口路灯坏了") in asked
    assert await say(client, "sim-P1", "同一件") == [ZH.t("report.already_yours", number=first.id)]
    assert [r.status for r in await reports(services)] == [
        ReportStatus.ASSIGNED,
        ReportStatus.CLOSED,
    ]
    async with services.uow() as store:
        assert len(await store.reports.photos(first.id)) == 1


async def test_a_duplicate_must_be_near_recent_and_of_a_shared_kind(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    await enroll(services)
    await say(client, "sim-P1", "随手拍")
    await say(client, "sim-P1", "跳过")
    await say(client, "sim-P1", "这里的路灯坏了")
    await send_location(client, "sim-P1", *GATE, "村口")
    # 1.1 km away: another lamp
    await say(client, "sim-P4", "随手拍")
    await say(client, "sim-P4", "跳过")
    await say(client, "sim-P4", "路灯坏了")
    await send_location(client, "sim-P4", *SCHOOL, "小学")
    assert len(await reports(services)) == 2
    # 50 m away: the same lamp
    await say(client, "sim-P6", "随手拍")
    await say(client, "sim-P6", "跳过")
    await say(client, "sim-P6", "路灯坏了")
    (answer,) = await send_location(client, "sim-P6", *NEAR_GATE, "村口东")
    first = (await reports(services))[0]
    assert f"#{first.id}" in answer
    assert len(await reports(services)) == 2
    # more than 48 hours later it is a new report
    clock.advance(49 * 3600)
    await say(client, "sim-P8", "路灯坏了")
    assert len(await reports(services)) == 3
    # a family's own matter is never taken for another's
    await say(client, "sim-P1", "隔壁把我家宅基地的界桩挪了，吵了好几回")
    await say(client, "sim-P4", "邻居占了我家宅基地，吵起来了")
    disputes = [r for r in await reports(services) if r.category == "矛盾纠纷"]
    assert len(disputes) == 2
    assert {r.reporter_id for r in disputes} == {
        await person_id(services, "P1"),
        await person_id(services, "P4"),
    }
    assert all(r.status is ReportStatus.ASSIGNED for r in disputes)
