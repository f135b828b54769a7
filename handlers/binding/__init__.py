"""绑定 and 我的信息: tie a chat account to a person in the registry, and show who that is.

A guest binds by name and the last four phone digits (linking.py). Guesses at one person
are counted across every account; past a few, a right answer waits for the person's
village cadres (guard.py), who approve or refuse it (review.py)."""

from __future__ import annotations

from bot.router import Router
from handlers.binding import linking, profile, review

router = Router(name="binding")
router.include_router(linking.router)
router.include_router(profile.router)
router.include_router(review.router)
