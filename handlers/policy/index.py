"""The knowledge base as the ranker reads it, kept per application and rebuilt when an
entry or a keyword changes (this instance at once; the others at their next question);
and the entries that apply to one villager: those of their village, township and county,
valid today, the narrowest of each title."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from bot.context import Context
from handlers.reports.lifecycle import local_time
from storage.models import KbEntry
from understanding import Understanding
from understanding.ranking import Doc, Ranker, Words, read_synonyms, verdict

Version = tuple[Any, ...]
LIMIT = 10


@dataclass(frozen=True, slots=True)
class Index:
    version: Version
    ranker: Ranker
    entries: dict[int, KbEntry]
    names: frozenset[str]  # the entries' titles and keywords, and the synonyms' words


@dataclass(frozen=True, slots=True)
class Found:
    verdict: str  # "sure", "choose" or "none"
    entries: list[KbEntry]  # the best first, at most three


_KEPT: WeakKeyDictionary[Understanding, Index] = WeakKeyDictionary()


def build(entries: list[KbEntry], synonyms: dict[str, str], version: Version) -> Index:
    known = [w for e in entries for w in (e.title, *e.keywords)]
    every = {**read_synonyms(), **synonyms}
    words = Words(every, known)
    docs = [Doc(e.id, e.title, tuple(e.variants), tuple(e.keywords)) for e in entries]
    parts = [w for e in entries for w in words.cut(e.title)]
    names = frozenset(w for w in (*known, *every, *parts) if len(w) >= 2)
    return Index(version, Ranker(docs, words), {e.id: e for e in entries}, names)


def names_policy(understanding: Understanding, text: str) -> bool:
    """Whether the text names a policy the knowledge base knows (before it is first read:
    one the synonyms know)."""
    kept = _KEPT.get(understanding)
    names = kept.names if kept is not None else _synonym_names()
    return any(name in text for name in names)


@lru_cache(maxsize=1)
def _synonym_names() -> frozenset[str]:
    return frozenset(w for pair in read_synonyms().items() for w in pair if len(w) >= 2)


async def index(ctx: Context) -> Index:
    await ctx.understanding.ready()
    taught = ctx.understanding.taught
    version = (*await ctx.store.policy.entries_version(), id(taught))
    kept = _KEPT.get(ctx.understanding)
    if kept is not None and kept.version == version:
        return kept
    entries = list(await ctx.store.policy.entries())
    for e in entries:
        ctx.store.session.expunge(e)  # kept beyond this transaction, read only
    built = await asyncio.to_thread(build, entries, dict(taught.synonyms), version)
    _KEPT[ctx.understanding] = built
    return built


async def scopes(ctx: Context) -> dict[int | None, int]:
    """The units whose entries apply to the sender, nearest first (its rank); a guest
    outside a village reads the entries of every unit's county."""
    unit_id = ctx.person.village_id if ctx.person is not None else None
    if unit_id is None and ctx.unit is not None:
        unit_id = ctx.unit.id
    if unit_id is None:
        return {None: 9, **{u.id: 8 for u in await ctx.store.org.all() if u.parent_id is None}}
    chain = await ctx.store.org.lineage(unit_id)
    return {**{u.id: i for i, u in enumerate(chain)}, None: len(chain)}


def valid(entry: KbEntry, today: date) -> bool:
    return (entry.valid_from is None or entry.valid_from <= today) and (
        entry.valid_until is None or today <= entry.valid_until
    )


async def find(ctx: Context, text: str) -> Found:
    """The entries that answer the question, with how sure."""
    kept = await index(ctx)
    allowed = await scopes(ctx)
    today = _local_date(ctx, ctx.clock.now())
    scored, most = kept.ranker.rank(text, limit=LIMIT * 4)
    best: dict[str, tuple[float, KbEntry]] = {}
    shown = []
    for s in scored:
        entry = kept.entries[s.key]
        if entry.unit_id not in allowed or not valid(entry, today):
            continue
        held = best.get(entry.title)
        if held is None:
            best[entry.title] = (s.score, entry)
            shown.append(s)
        elif allowed[entry.unit_id] < allowed[held[1].unit_id]:  # the narrower one answers
            best[entry.title] = (held[0], entry)
    entries = [best[kept.entries[s.key].title][1] for s in shown[:3]]
    return Found(verdict(shown, most), entries)


def _local_date(ctx: Context, at: datetime) -> date:
    return local_time(ctx, at).date()
