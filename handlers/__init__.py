"""Feature handlers, one module (and one Router) per feature."""

from __future__ import annotations

from bot.router import Router
from handlers import binding, elders, fallback, help, notices, reports
from handlers.notices import answering as notices_answering
from handlers.notices import reading as notices_reading
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
        asking.router,
        reports.router,
        fallback.router,
    ):
        root.include_router(feature)
    return root
