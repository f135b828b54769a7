"""Feature handlers, one module (and one Router) per feature."""

from __future__ import annotations

from bot.router import Router
from handlers import binding, disclosure, elders, fallback, help, notices, points, policy, reports
from handlers.notices import answering as notices_answering
from handlers.notices import reading as notices_reading
from handlers.points import awarding as points_awarding
from handlers.points import boards as points_boards
from handlers.points import editing as points_editing
from handlers.points import reviewing as points_reviewing
from handlers.points import shop as points_shop
from handlers.points import stats as points_stats
from handlers.policy import keywords as policy_keywords
from handlers.reports import (
    asking,
    cadre,
    correcting,
    following,
    reading,
    stats,
    unlinking,
    words,
)


def build_router() -> Router:
    """All features, in priority order: help first (it answers in any state), the
    catch-all fallback last."""
    root = Router(name="root")
    for feature in (
        help.router,
        binding.router,
        elders.router,
        cadre.router,
        correcting.router,
        reading.router,  # a cadre's 查看 before a villager's (every cadre is a villager too)
        stats.router,
        words.router,
        notices.router,
        notices_answering.router,
        notices_reading.router,
        following.router,
        unlinking.router,
        points_editing.router,  # 积分规则 加/删 before the list of 积分规则
        points.router,  # before reports: the photo a 申报积分 waits for is not a 随手拍
        points_reviewing.router,
        points_shop.router,
        points_boards.router,
        points_awarding.router,
        points_stats.router,
        disclosure.router,
        policy_keywords.router,
        policy.router,  # a question in one's own words, before a report's free text
        asking.router,
        reports.router,
        fallback.router,
    ):
        root.include_router(feature)
    return root
