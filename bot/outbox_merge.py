"""A throttled target's backlog as one digest: what may be merged, how far, and how it reads."""

from __future__ import annotations

from collections.abc import Sequence

from bot.channels.render import as_markdown
from bot.message import Reply, ReplyKind
from storage.models import OutboxMessage

DIGEST_MAX_CHARS = 3500  # DingTalk markdown is cut near 5,000 characters, WeCom's at 4 KiB


def mergeable(reply: Reply) -> bool:
    """Whether a digest carries this push whole: a text or markdown without a photo (the
    photo a text carries, channels.base.photo_of, is sent as an image after it)."""
    return reply.kind in (ReplyKind.TEXT, ReplyKind.MARKDOWN) and not reply.image


def run_behind(head: Reply, waiting: Sequence[OutboxMessage]) -> list[OutboxMessage]:
    """The pushes right behind the head that its digest takes: up to the first one it
    cannot carry (that one keeps its turn), and short of the platforms' length caps."""
    size, run = len(head.text), []
    for row in waiting:
        reply = Reply.model_validate(row.reply)
        size += len(reply.text)
        if row.urgent or not mergeable(reply) or size > DIGEST_MAX_CHARS:
            break
        run.append(row)
    return run


def digest(title: str, parts: Sequence[Reply]) -> Reply:
    """The parts under a bold title, as markdown, which each sender draws for its platform
    (bot/channels/render.py): a text's words are shown as written, never read as markup (a
    villager's "[点我](http://…)" in a report stays words)."""
    return Reply(
        kind=ReplyKind.MARKDOWN,
        text="\n\n---\n\n".join([f"**{title}**", *(as_markdown(p) for p in parts)]),
        mentions=tuple(dict.fromkeys(m for p in parts for m in p.mentions)),
    )
