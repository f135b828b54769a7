"""三务公开: villages publish their party, village and finance affairs; villagers read them
and ask about them."""

from __future__ import annotations

from bot.router import Router
from handlers.disclosure import publishing, reading

router = Router(name="disclosure")
router.include_router(publishing.router)  # a flow's steps before the readers' commands
router.include_router(reading.router)
