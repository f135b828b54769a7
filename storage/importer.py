"""`villagebot import FILE`: the org tree, households, people, roles, elders and group chats.

Everything is matched by its code, so importing the same file again changes nothing and a
changed file updates in place. A bad file is refused whole, naming the line and the field,
before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage.knowledge import sync_knowledge
from storage.models import (
    OPENING,
    ContactRelation,
    ElderContact,
    GroupChat,
    Household,
    OrgUnit,
    Person,
    PointEntry,
    PointRuleChange,
    Role,
    RoleAssignment,
)
from storage.registry_file import (
    PersonIn,
    RegistryFileError,
    RegistryIn,
    read_registry,
    walk_units,
)
from storage.repos import Store, UnitOfWork

__all__ = ["ImportSummary", "RegistryFileError", "RegistryIn", "import_registry", "read_registry"]


@dataclass
class ImportSummary:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool) -> None:
        bucket = self.created if created else self.updated
        bucket[kind] = bucket.get(kind, 0) + 1

    @property
    def changed(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values())


# --- writing ------------------------------------------------------------------------------


def _assign(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


async def _upsert(
    store: Store, model: type[Any], code: str, values: dict[str, Any], summary: ImportSummary
) -> Any:
    row = (await store.session.scalars(select(model).where(model.code == code))).first()
    if row is None:
        row = model(code=code, **values)
        store.session.add(row)
        await store.session.flush()
        summary.count(model.__tablename__, created=True)
    elif _assign(row, values):
        await store.session.flush()
        summary.count(model.__tablename__, created=False)
    return row


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone else ""


async def import_registry(
    uow: UnitOfWork, reg: RegistryIn, at: datetime | None = None
) -> ImportSummary:
    """Bring the database in line with the registry. An elder new to it is watched from
    `at` (now), as if just heard from."""
    at = at or datetime.now(UTC)
    summary = ImportSummary()
    async with uow() as store:
        ids: dict[str, int] = {}
        units = walk_units(reg.org, None, ("org",)) if reg.org is not None else iter(())
        for unit, parent, _ in units:
            values = {
                "name": unit.name,
                "level": unit.level,
                "parent_id": ids[parent.code] if parent else None,
            }
            ids[unit.code] = (await _upsert(store, OrgUnit, unit.code, values, summary)).id
        households: dict[str, int] = {}
        for h in reg.households:
            values = {
                "village_id": ids[h.village],
                "grid_id": ids.get(h.grid or ""),
                "address": h.address,
            }
            households[h.code] = (await _upsert(store, Household, h.code, values, summary)).id
            if h.points:
                opening = PointEntry(
                    household_id=households[h.code],
                    village_id=ids[h.village],
                    rule=OPENING,
                    points=h.points,
                    at=at,
                    note="",
                    source=f"opening:{h.code}",
                )
                if await store.points.add(opening):
                    summary.count("point_entry", created=True)
        people: dict[str, int] = {}
        for p in reg.people:
            values = {
                "name": p.name,
                "phone_masked": mask_phone(p.phone),
                "phone_last4": p.phone[-4:],
                "village_id": ids.get(p.village or ""),
                "grid_id": ids.get(p.grid or ""),
                "household_id": households.get(p.household or ""),
                "locale": p.locale,
                "is_elder": p.elder,
            }
            people[p.code] = (await _upsert(store, Person, p.code, values, summary)).id
        for p in reg.people:
            await _sync_roles(store, people[p.code], p, ids, summary)
            await _sync_contacts(store, people[p.code], p, people, summary)
            await _sync_care(store, people[p.code], p, at, summary)
        for c in reg.group_chats:
            values = {
                "name": c.name,
                "org_unit_id": ids[c.unit],
                "purpose": c.purpose,
                "channel": c.channel,
                "external_id": c.external_id,
                "robot_token": c.robot_token,
                "robot_secret": c.robot_secret,
            }
            await _upsert(store, GroupChat, c.code, values, summary)
        await _sync_points_rules(store, reg, ids, at, summary)
        missing = await sync_knowledge(store, reg.knowledge, ids, at, summary)
        if missing:
            raise UnknownUnits(missing)  # rolls the whole import back
    return summary


class UnknownUnits(RegistryFileError):
    """Knowledge-base entries name units neither the file nor the database has."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(Path("knowledge"), [f" unit: no unit {code}" for code in codes])


async def _sync_points_rules(
    store: Store, reg: RegistryIn, ids: dict[str, int], at: datetime, summary: ImportSummary
) -> None:
    """Each village's points rules as the file has them: a change is kept only where the
    village's latest differs (so importing the same file again changes nothing)."""
    latest: dict[tuple[int | None, str], PointRuleChange] = {}
    for change in await store.points.rule_changes():
        latest[(change.village_id, change.code)] = change
    for r in reg.points_rules:
        village = ids[r.village]
        wanted = PointRuleChange(
            code=r.code,
            name=r.name,
            klass=r.klass,
            points=r.points,
            how=r.how,
            monthly_cap=r.monthly_cap,
            black_board=r.black_board,
            what=r.what,
            removed=r.removed,
            person_id=None,
            at=at,
            village_id=village,
        )
        fields = (
            "name",
            "klass",
            "points",
            "how",
            "monthly_cap",
            "black_board",
            "what",
            "removed",
        )
        before = latest.get((village, r.code))
        if before is not None and all(getattr(before, f) == getattr(wanted, f) for f in fields):
            continue
        store.points.change_rule(wanted)
        latest[(village, r.code)] = wanted
        summary.count("point_rule_change", created=True)


async def _sync_roles(
    store: Store, person_id: int, p: PersonIn, ids: dict[str, int], summary: ImportSummary
) -> None:
    existing = {(r.org_unit_id, r.role): r for r in await store.people.roles(person_id)}
    wanted = {(ids[r.unit], Role(r.role)): r for r in p.roles}
    for key, row in existing.items():
        if key not in wanted:
            await store.session.delete(row)
            summary.count("role_assignment", created=False)
    for key, r in wanted.items():
        current = existing.get(key)
        if current is None:
            store.session.add(
                RoleAssignment(
                    person_id=person_id,
                    org_unit_id=key[0],
                    role=key[1],
                    categories=list(r.categories),
                )
            )
            summary.count("role_assignment", created=True)
        elif _assign(current, {"categories": list(r.categories)}):
            summary.count("role_assignment", created=False)


async def _sync_care(
    store: Store, person_id: int, p: PersonIn, at: datetime, summary: ImportSummary
) -> None:
    if p.elder:
        changed = await store.elders.keep(person_id, p.inactive_hours, p.checkin == "group", at)
    else:
        changed = await store.elders.forget(person_id, at)
    if changed:
        summary.count("elder_care", created=False)


async def _sync_contacts(
    store: Store, elder_id: int, p: PersonIn, people: dict[str, int], summary: ImportSummary
) -> None:
    rows = (
        await store.session.scalars(select(ElderContact).where(ElderContact.elder_id == elder_id))
    ).all()
    existing = {(r.contact_id, r.relation): r for r in rows}
    wanted = {(people[c], ContactRelation.CARETAKER) for c in p.caretakers}
    wanted |= {(people[c], ContactRelation.FAMILY) for c in p.family}
    for key, row in existing.items():
        if key not in wanted:
            await store.session.delete(row)
            summary.count("elder_contact", created=False)
    for contact_id, relation in wanted - existing.keys():
        store.session.add(
            ElderContact(elder_id=elder_id, contact_id=contact_id, relation=relation)
        )
        summary.count("elder_contact", created=True)
