"""本村统计 on a fixture whose answers were worked out by hand, on both stacks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from storage.models import Report, ReportStatus
from tests.handlers.support import person_id, unit_id
from tests.sim_support import enroll, say

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
H = timedelta(hours=1)
D = timedelta(days=1)


async def add_report(
    services: Services,
    created: datetime,
    status: ReportStatus,
    *,
    accepted: timedelta | None = None,
    resolved: timedelta | None = None,
    satisfied: bool | None = None,
) -> None:
    """A report of 柳树村 made at `created`, accepted and resolved that long after it; its
    deadlines are the defaults (24 h to accept, 72 h to resolve)."""
    reporter, village = await person_id(services, "P1"), await unit_id(services, "V1")
    async with services.uow() as store:
        await store.reports.create(
            Report(
                reporter_id=reporter,
                channel="sim",
                chat_id="sim-P1",
                village_id=village,
                unit_id=village,
                category="环境卫生",
                text="垃圾",
                place="",
                status=status,
                created_at=created,
                accept_due_at=created + 24 * H,
                resolve_due_at=created + 72 * H,
                accepted_at=created + accepted if accepted else None,
                resolved_at=created + resolved if resolved else None,
                closed_at=created + 8 * D if status is ReportStatus.CLOSED else None,
                satisfied=satisfied,
            )
        )


async def fixture(services: Services, now: datetime) -> None:
    C, R = ReportStatus.CLOSED, ReportStatus.RESOLVED
    # 1 closed, satisfied: accepted in 2 h, resolved in 20 h (on time)
    await add_report(services, now - 10 * D, C, accepted=2 * H, resolved=20 * H, satisfied=True)
    # 2 closed automatically: accepted in 30 h, resolved in 100 h (late); no verdict
    await add_report(services, now - 9 * D, C, accepted=30 * H, resolved=100 * H)
    # 3 resolved, waiting for the villager: accepted in 4 h, resolved in 50 h (on time)
    await add_report(services, now - 5 * D, R, accepted=4 * H, resolved=50 * H)
    # 4 reopened after 不满意: accepted in 6 h, not resolved, its 72 h passed long ago (late)
    await add_report(services, now - 6 * D, ReportStatus.REOPENED, accepted=6 * H, satisfied=False)
    # 5 in progress: accepted in 12 h, its deadline still ahead (counts for no on-time rate)
    await add_report(services, now - 1 * D, ReportStatus.IN_PROGRESS, accepted=12 * H)
    # 6 rejected: in the counts only
    await add_report(services, now - 2 * D, ReportStatus.REJECTED)
    # 7 forty days ago, closed, satisfied: accepted in 1 h, resolved in 10 h (on time)
    await add_report(services, now - 40 * D, C, accepted=1 * H, resolved=10 * H, satisfied=True)


def expected(
    title: str, counts: tuple[int, ...], rates: tuple[str, ...], hours: tuple[str, str]
) -> list[str]:
    total, open_, awaiting, closed, rejected, verdicts = counts
    closure, on_time, satisfaction = rates
    return [
        title,
        ZH.t(
            "report.stats_counts",
            total=total,
            open=open_,
            awaiting=awaiting,
            closed=closed,
            rejected=rejected,
        ),
        ZH.t("report.stats_rates", closure=closure, on_time=on_time),
        ZH.t("report.stats_hours", accept=hours[0], resolve=hours[1]),
        ZH.t("report.stats_satisfaction", satisfaction=satisfaction, count=verdicts),
        ZH.t("policy.stats_replies", rate="—", count=0),  # no questions in these tests
    ]


async def test_village_figures_match_the_hand_computed_answers(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    await enroll(services)
    await fixture(services, clock.now())
    (last_30,) = await say(client, "sim-P2", "本村统计")
    days = ZH.t("report.stats_days", days=30)
    # reports 1-6: closure (1, 2, 3) / 5 not rejected = 60%; on time (1, 3) / (1, 2, 3, 4) = 50%;
    # accept (2 + 30 + 4 + 6 + 12) / 5 = 10.8 h; resolve (20 + 100 + 50) / 3 = 56.7 h;
    # satisfaction 1 of 2 verdicts = 50%
    assert last_30.splitlines() == [
        *expected(
            ZH.t("report.stats_title", unit="柳树村", period=days),
            (6, 2, 1, 2, 1, 2),
            ("60%", "50%", "50%"),
            ("10.8", "56.7"),
        ),
        ZH.t("report.stats_hint"),
    ]
    (all_time,) = await say(client, "sim-P2", "本村统计 全部")
    # with report 7: closure 4/6 = 67%; on time 3/5 = 60%; accept 55/6 = 9.2 h;
    # resolve 180/4 = 45.0 h; satisfaction 2/3 = 67%
    assert all_time.splitlines() == expected(
        ZH.t("report.stats_title", unit="柳树村", period=ZH.t("report.stats_all")),
        (7, 2, 1, 3, 1, 3),
        ("67%", "60%", "67%"),
        ("9.2", "45.0"),
    )
    # the grid worker sees their village; the township cadre every village under it
    assert (await say(client, "sim-P3", "本村统计"))[0] == last_30
    (township,) = await say(client, "sim-P7", "本村统计")
    assert township.splitlines()[1:] == last_30.splitlines()[1:]
    assert township.splitlines()[0] == ZH.t("report.stats_title", unit="河口镇", period=days)
    # villagers may not
    assert await say(client, "sim-P1", "本村统计") == [ZH.t("refusal.not_permitted")]


async def test_no_reports_yet_shows_dashes_not_errors(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    (stats,) = await say(client, "sim-P2", "本村统计")
    assert (
        stats.splitlines()[1:6]
        == expected("", (0, 0, 0, 0, 0, 0), ("—", "—", "—"), ("—", "—"))[1:]
    )
