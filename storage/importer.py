"""`villagebot import FILE`: the org tree, households, people, roles, elders and group chats.

Everything is matched by its code, so importing the same file again changes nothing and a
changed file updates in place. A bad file is refused whole, naming the line and the field,
before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select

from storage.models import (
    PARENT_LEVEL,
    ROLE_LEVEL,
    ChatPurpose,
    ContactRelation,
    ElderContact,
    GroupChat,
    Household,
    Level,
    OrgUnit,
    Person,
    Role,
    RoleAssignment,
)
from storage.repos import Store, UnitOfWork

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitIn(Strict):
    code: Code
    name: str = Field(min_length=1, max_length=64)
    level: Level
    children: list[UnitIn] = []


class HouseholdIn(Strict):
    code: Code
    village: Code
    grid: Code | None = None
    address: str = Field("", max_length=128)


class RoleIn(Strict):
    role: Literal[
        "county_cadre",
        "admin",
        "township_cadre",
        "agri_technician",
        "village_secretary",
        "village_cadre",
        "grid_worker",
    ]
    unit: Code
    categories: list[str] = []


class PersonIn(Strict):
    code: Code
    name: str = Field(min_length=1, max_length=32)
    phone: str = Field("", pattern=r"^(\d{11})?$")
    village: Code | None = None
    grid: Code | None = None
    household: Code | None = None
    locale: Literal["zh_CN", "en"] = "zh_CN"
    elder: bool = False
    # elders: quiet this many hours raises an alert; the daily check-in prompt comes 1:1
    # (private) or as an @mention in the village residents' group (group)
    inactive_hours: int = Field(24, ge=1, le=24 * 14)
    checkin: Literal["private", "group"] = "private"
    roles: list[RoleIn] = []
    caretakers: list[Code] = []
    family: list[Code] = []

    @field_validator("phone", mode="before")
    @classmethod
    def _phone_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class ChatIn(Strict):
    code: Code
    name: str = Field(min_length=1, max_length=64)
    unit: Code
    purpose: ChatPurpose
    channel: str = Field(min_length=1, max_length=32)
    external_id: str = Field(min_length=1, max_length=128)
    # the group's push robot: DingTalk custom robot access token (+ SEC… signing secret),
    # or WeCom group robot key
    robot_token: str = Field("", max_length=256)
    robot_secret: str = Field("", max_length=256)


class RegistryIn(Strict):
    org: UnitIn
    households: list[HouseholdIn] = []
    people: list[PersonIn] = []
    group_chats: list[ChatIn] = []


class RegistryFileError(Exception):
    """The file is refused; `problems` name line and field, for the operator."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__("\n".join(f"{path}:{p}" for p in problems))
        self.problems = problems


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


# --- reading, with line numbers ---------------------------------------------------------

Path_ = tuple[str | int, ...]


def _plain(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            out[key] = _plain(value_node, (*path, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _line(lines: dict[Path_, int], path: Path_) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def read_registry(path: Path) -> RegistryIn:
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except OSError as exc:
        raise RegistryFileError(path, [f"0: cannot read: {exc.strerror}"]) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise RegistryFileError(path, [f"{line}: not valid YAML: {exc}"]) from exc
    if root is None:
        raise RegistryFileError(path, ["1: the file is empty"])
    lines: dict[Path_, int] = {}
    data = _plain(root, (), lines)
    try:
        registry = RegistryIn.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{_line(lines, tuple(e['loc']))}: {'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in exc.errors()
        ]
        raise RegistryFileError(path, problems) from exc
    problems = list(_check_references(registry, lines))
    if problems:
        raise RegistryFileError(path, problems)
    return registry


def _walk(
    unit: UnitIn, parent: UnitIn | None, path: Path_
) -> Iterator[tuple[UnitIn, UnitIn | None, Path_]]:
    yield unit, parent, path
    for i, child in enumerate(unit.children):
        yield from _walk(child, unit, (*path, "children", i))


def _check_references(reg: RegistryIn, lines: dict[Path_, int]) -> Iterator[str]:
    def at(path: Path_, name: str, msg: str) -> str:
        field = (*path, name) if name else path  # the field's own line when it has one
        return f"{_line(lines, field)}: {'.'.join(map(str, field))}: {msg}"

    units: dict[str, UnitIn] = {}
    parent_of: dict[str, str | None] = {}
    for unit, parent, path in _walk(reg.org, None, ("org",)):
        if unit.code in units:
            yield at(path, "code", f"unit code {unit.code} is used twice")
        units[unit.code] = unit
        parent_of[unit.code] = parent.code if parent else None
        wanted = PARENT_LEVEL[unit.level]
        if (parent.level if parent else None) is not wanted:
            yield at(
                path,
                "level",
                f"a {unit.level} cannot sit under {parent.level if parent else 'nothing'}",
            )

    def unit_is(code: str | None, level: Level, path: Path_, name: str) -> Iterator[str]:
        if code is not None and (code not in units or units[code].level is not level):
            yield at(path, name, f"{code} is not a {level} in org")

    households = {h.code: h for h in reg.households}
    for i, h in enumerate(reg.households):
        p = ("households", i)
        yield from unit_is(h.village, Level.VILLAGE, p, "village")
        yield from unit_is(h.grid, Level.GRID, p, "grid")
        if h.grid and parent_of.get(h.grid) != h.village:
            yield at(p, "grid", f"grid {h.grid} is not in village {h.village}")

    codes = [p.code for p in reg.people]
    for i, person in enumerate(reg.people):
        p = ("people", i)
        if codes.count(person.code) > 1:
            yield at(p, "code", f"person code {person.code} is used twice")
        yield from unit_is(person.village, Level.VILLAGE, p, "village")
        yield from unit_is(person.grid, Level.GRID, p, "grid")
        if person.grid and parent_of.get(person.grid) != person.village:
            yield at(p, "grid", f"grid {person.grid} is not in village {person.village}")
        if person.household and person.household not in households:
            yield at(p, "household", f"no household {person.household}")
        for j, role in enumerate(person.roles):
            yield from unit_is(
                role.unit, ROLE_LEVEL.get(Role(role.role), Level.COUNTY), (*p, "roles", j), "unit"
            )
        for relation in ("caretakers", "family"):
            for j, code in enumerate(getattr(person, relation)):
                if code not in codes:
                    yield at((*p, relation, j), "", f"no person {code}")
        if (person.caretakers or person.family) and not person.elder:
            yield at(p, "elder", "caretakers and family are for elders (elder: true)")

    for i, chat in enumerate(reg.group_chats):
        if chat.unit not in units:
            yield at(("group_chats", i), "unit", f"no unit {chat.unit}")


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
        for unit, parent, _ in _walk(reg.org, None, ("org",)):
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
    return summary


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
