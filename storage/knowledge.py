"""Importing the knowledge base: each entry matched by its scope and title, so importing
the same file again changes nothing and a changed entry is updated in place. Entries the
file does not hold (a village's 收录, an admin's) are left as they are. A unit code the
database does not know refuses the file before anything is written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from storage.knowledge_file import EntryIn
from storage.models import KbEntry, OrgUnit
from storage.repos import Store

if TYPE_CHECKING:
    from storage.importer import ImportSummary


async def unit_ids(
    store: Store, entries: Sequence[EntryIn], known: Mapping[str, int]
) -> dict[str, int]:
    """The unit ids of the entries' codes: the file's own, then the database's."""
    ids = dict(known)
    wanted = {e.unit for e in entries if e.unit is not None} - set(ids)
    if wanted:
        rows = await store.session.execute(
            select(OrgUnit.code, OrgUnit.id).where(OrgUnit.code.in_(wanted))
        )
        ids.update(dict(rows.tuples().all()))
    return ids


async def sync_knowledge(
    store: Store,
    entries: Sequence[EntryIn],
    ids: Mapping[str, int],
    at: datetime,
    summary: ImportSummary,
) -> list[str]:
    """Bring the file's entries into the database; the codes of units it does not know (then
    nothing is written: the caller rolls back)."""
    units = await unit_ids(store, entries, ids)
    missing = sorted({e.unit for e in entries if e.unit is not None and e.unit not in units})
    if missing:
        return missing
    for e in entries:
        unit_id = units[e.unit] if e.unit is not None else None
        values = {
            "variants": list(e.variants),
            "answer": e.answer,
            "keywords": list(e.keywords),
            "source": e.source,
            "valid_from": e.valid_from,
            "valid_until": e.valid_until,
            "removed": False,
        }
        row = await store.policy.entry_titled(unit_id, e.title)
        if row is None:
            await store.policy.add_entry(
                KbEntry(unit_id=unit_id, title=e.title, updated_at=at, **values)
            )
            summary.count("kb_entry", created=True)
            continue
        if any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at, row.updated_by_id = at, None
            summary.count("kb_entry", created=False)
    return []
