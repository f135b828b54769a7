"""随手拍 intake through the simulator, on both stacks: words, a photo then words, routing,
the cadre group's announcement, 我的上报 and 查进度."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from storage.models import (
    OrgUnit,
    ReportPhoto,
    ReportStatus,
    Role,
)
from tests.factories import png
from tests.handlers.support import give_role, reports
from tests.sim_support import enroll, pushed, say

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]


async def cadre_group(client: Client, services: Services) -> list[str]:
    return await pushed(client, services, "g-v1-cadres")


async def test_a_report_in_words_is_numbered_routed_and_announced(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    (answer,) = await say(client, "sim-P1", "村口路灯坏了三天了")
    (report,) = await reports(services)
    assert answer == ZH.t(
        "report.received",
        number=report.id,
        category="路灯电力",
        role=ZH.t("role.village_secretary"),
    )
    assert (report.category, report.status) == ("路灯电力", ReportStatus.ASSIGNED)
    assert report.text == "村口路灯坏了三天了"
    # nobody's categories cover it and grid G1 has no grid worker: the village secretary
    async with services.uow() as store:
        secretary = (await store.people.matching("李书记", "2222"))[0]
    assert report.assignee_id == secretary.id
    assert report.accept_due_at - report.created_at == timedelta(hours=24)
    assert report.resolve_due_at - report.created_at == timedelta(hours=72)
    (announced,) = await cadre_group(client, services)
    assert f"#{report.id}" in announced
    assert "村口路灯坏了三天了" in announced
    assert "王秀英" in announced
    assert "李书记" in announced


async def test_routing_prefers_the_cadre_of_the_category_then_the_grid_worker(
    client: Client, services: Services, registry: None
) -> None:
    await give_role(services, "P8", "V1", Role.VILLAGE_CADRE, "环境卫生")
    await enroll(services)
    await say(client, "sim-P8", "路边有人乱倒垃圾")  # P8 reports, P8 handles: fine
    await say(client, "sim-P4", "二组的水渠堵了")  # 孙大爷 lives in grid G2: its grid worker
    first, second = await reports(services)
    async with services.uow() as store:
        cadre = (await store.people.matching("王秀英", "8888"))[0]
        grid_worker = (await store.people.matching("赵网格", "3333"))[0]
    assert (first.category, first.assignee_id) == ("环境卫生", cadre.id)
    assert (second.category, second.assignee_id) == ("水利设施", grid_worker.id)


async def test_a_sick_crop_goes_to_the_townships_agricultural_technician(
    client: Client, services: Services, registry: None
) -> None:
    await give_role(services, "P7", "T1", Role.AGRI_TECHNICIAN)
    await enroll(services)
    (answer,) = await say(client, "sim-P1", "我家玉米叶子发黄了")
    (report,) = await reports(services)
    assert report.category == "农技问诊"
    assert "role.agri_technician" not in answer
    assert ZH.t("role.agri_technician") in answer
    async with services.uow() as store:
        township = await store.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "T1"))
    assert report.unit_id == township


async def test_a_photo_then_words_make_one_report_with_the_photo(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    form = FormData()
    form.add_field("sender", "sim-P1")
    form.add_field("chat", "dm")
    form.add_field("photo", png(), filename="ditch.png", content_type="image/png")
    resp = await client.post("/sim/api/photos", data=form)
    assert [r["text"] for r in (await resp.json())["replies"]] == [ZH.t("report.photo_received")]
    assert await reports(services) == []  # waits for the words
    (answer,) = await say(client, "sim-P1", "一组水渠堵了")
    (report,) = await reports(services)
    assert report.category == "水利设施"
    assert f"#{report.id}" in answer
    async with services.uow() as store:
        photos = (await store.session.scalars(select(ReportPhoto))).all()
    assert [(p.report_id, p.proof) for p in photos] == [(report.id, False)]
    assert services.media.path(photos[0].media).read_bytes() == png()


async def test_a_photo_without_words_is_a_report_of_other(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    form = FormData()
    form.add_field("sender", "sim-P1")
    form.add_field("chat", "dm")
    form.add_field("photo", png(), filename="x.png", content_type="image/png")
    await client.post("/sim/api/photos", data=form)
    await say(client, "sim-P1", "跳过")
    (report,) = await reports(services)
    assert (report.category, report.text) == ("其他", "")


async def test_questions_and_small_talk_are_not_reports(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    # a question is never filed as it stands: at most the bot asks whether to report it
    (asked,) = await say(client, "sim-P1", "明天停水吗？")
    assert "#" not in asked
    assert await say(client, "sim-P1", "取消") != []
    assert await say(client, "sim-P1", "你好") == [ZH.t("fallback.chat")]
    assert await reports(services) == []


async def test_my_reports_and_progress(client: Client, services: Services, registry: None) -> None:
    await enroll(services)
    assert await say(client, "sim-P1", "我的上报") == [ZH.t("report.mine_empty")]
    await say(client, "sim-P1", "村口路灯坏了")
    (report,) = await reports(services)
    (mine,) = await say(client, "sim-P1", "我的上报")
    assert f"#{report.id} 路灯电力：{ZH.t('report.status.assigned')}" in mine
    (detail,) = await say(client, "sim-P1", f"查进度 {report.id}")
    assert detail.splitlines()[0] == ZH.t(
        "report.progress_title",
        number=report.id,
        category="路灯电力",
        status=ZH.t("report.status.assigned"),
    )
    assert len(detail.splitlines()) == 3  # reported, then handed to the person in charge
    assert await say(client, "sim-P1", "查进度") == [ZH.t("report.progress_usage")]
    # somebody else's report is not shown
    assert await say(client, "sim-P4", f"查进度 {report.id}") == [
        ZH.t("report.not_yours", number=str(report.id))
    ]


async def test_who_cannot_report(client: Client, services: Services, registry: None) -> None:
    await enroll(services)
    assert await say(client, "sim-guest-1", "村口路灯坏了") == [ZH.t("refusal.bind_first")]
    await say(client, "sim-guest-2", "绑定 孙小明 5555")  # family living in town: no village
    assert await say(client, "sim-guest-2", "村口路灯坏了") == [ZH.t("report.no_village")]
    assert await reports(services) == []


async def test_the_assigned_cadre_accepts_and_the_villager_is_told(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await say(client, "sim-P1", "村口路灯坏了")
    (report,) = await reports(services)
    (answer,) = await say(
        client, "sim-P2", f"接单 {report.id}", chat="g-v1-cadres", mentioned=True
    )
    assert answer == ZH.t("report.accepted", number=report.id, category="路灯电力")
    (report,) = await reports(services)
    assert report.status is ReportStatus.IN_PROGRESS
    assert report.accepted_at is not None
    told = (await pushed(client, services, "sim-P1"))[-1]
    assert told == ZH.t(
        "report.accepted_villager", number=report.id, role=ZH.t("role.village_secretary")
    )
    (detail,) = await say(client, "sim-P1", f"查进度 {report.id}")
    assert detail.splitlines()[-1].endswith(ZH.t("report.event.accepted", time="").strip())


async def test_two_cadres_accepting_at_once_one_wins_the_other_is_told_who(
    client: Client, services: Services, registry: None
) -> None:
    await give_role(services, "P8", "V1", Role.VILLAGE_CADRE, "路灯电力")
    await enroll(services)
    await say(client, "sim-P1", "村口路灯坏了")
    (report,) = await reports(services)
    answers = await asyncio.gather(
        say(client, "sim-P2", f"接单 {report.id}"), say(client, "sim-P8", f"接单 {report.id}")
    )
    texts = sorted(a[0] for a in answers)
    wins = [
        t for t in texts if t == ZH.t("report.accepted", number=report.id, category="路灯电力")
    ]
    assert len(wins) == 1
    (lost,) = [t for t in texts if t not in wins]
    (report,) = await reports(services)
    async with services.uow() as store:
        winner = await store.people.get(report.assignee_id or 0)
    assert winner is not None
    assert lost == ZH.t(
        "report.accept_taken",
        number=report.id,
        who=winner.name,
        status=ZH.t("report.status.in_progress"),
    )
    async with services.uow() as store:
        kinds = [e.kind for e in await store.reports.timeline(report.id)]
    assert kinds.count("accepted") == 1


async def test_only_cadres_of_the_holding_tier_may_accept(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await say(client, "sim-P1", "村口路灯坏了")
    (report,) = await reports(services)
    # a villager may not; a township cadre is not of the village tier that holds it
    assert await say(client, "sim-P4", f"接单 {report.id}") == [ZH.t("refusal.not_permitted")]
    assert await say(client, "sim-P7", f"接单 {report.id}") == [
        ZH.t("report.not_your_tier", number=report.id)
    ]
    # the grid worker of a grid of that village may
    (answer,) = await say(client, "sim-P3", f"接单 #{report.id}")
    assert answer == ZH.t("report.accepted", number=report.id, category="路灯电力")
    assert await say(client, "sim-P3", "接单 99") == [ZH.t("report.no_such", number="99")]
    assert await say(client, "sim-P3", "接单") == [
        ZH.t("report.number_usage", command=ZH.t("report.cmd.accept"))
    ]


async def test_view_shows_everything_with_photo_links_and_deadlines(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    await enroll(services)
    form = FormData()
    form.add_field("sender", "sim-P1")
    form.add_field("chat", "dm")
    form.add_field("photo", png(), filename="lamp.png", content_type="image/png")
    await client.post("/sim/api/photos", data=form)
    await say(client, "sim-P1", "村口路灯坏了")
    (report,) = await reports(services)
    clock.advance(25 * 3600)  # a day and an hour: the accept deadline has passed
    (view,) = await say(client, "sim-P2", f"查看 {report.id}")
    lines = view.splitlines()
    assert lines[1] == ZH.t("report.view.reporter", name="王秀英", time="11-24 09:00")
    assert lines[2] == ZH.t("report.view.text", text="村口路灯坏了")
    assert lines[3] == ZH.t("report.view.assignee", name="李书记")
    assert lines[4] == ZH.t(
        "report.view.deadlines",
        accept=ZH.t("report.overdue", time="11-25 09:00"),
        resolve="11-27 09:00",
    )
    async with services.uow() as store:
        (photo,) = await store.reports.photos(report.id)
    link = f"/media/{photo.media}"
    assert lines[5] == ZH.t("report.view.photo", link=link)
    assert (await (await client.get(link)).read()) == png()  # the link opens the photo
    assert (await client.get("/media/../secrets")).status == 404


async def test_my_todo_lists_open_work_most_urgent_first(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    await enroll(services)
    assert await say(client, "sim-P2", "我的待办") == [ZH.t("report.todo_empty")]
    await say(client, "sim-P1", "村口路灯坏了")
    clock.advance(3600)
    await say(client, "sim-P1", "一组水渠堵了")
    first, second = await reports(services)
    await say(client, "sim-P2", f"接单 {first.id}")  # its next deadline is now 72 h away
    (todo,) = await say(client, "sim-P2", "我的待办")
    lines = todo.splitlines()
    assert lines[0] == ZH.t("report.todo_title", count=2)
    assert lines[1].startswith(f"#{second.id} ")  # to be taken on within 24 h: first
    assert lines[2].startswith(f"#{first.id} ")
    assert await say(client, "sim-P3", "我的待办") == [ZH.t("report.todo_empty")]
