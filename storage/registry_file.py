"""The registry file as `villagebot import` reads it: the models of its parts, the YAML read
with line numbers, and the problems of a bad file said in people's words (the line, the
field, what is expected), found before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails

from storage.knowledge_file import EntryIn, KnowledgeFileError, check, entries_of_csv
from storage.models import (
    PARENT_LEVEL,
    ROLE_LEVEL,
    ChatPurpose,
    Level,
    Role,
)

CODE = r"^[A-Za-z0-9_.-]+$"
PHONE = r"^(\d{11})?$"
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=CODE)]


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
    # points carried over from the village's paper ledger (期初积分): entered once, the first
    # time the household is imported with them; later changes go through the ledger
    points: int | None = Field(None, ge=0)


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
    phone: str = Field("", pattern=PHONE)
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


class PointsRuleIn(Strict):
    """One village's version of a points rule of locales/points.yaml (the same code), or a
    rule of its own (a new code)."""

    village: Code
    code: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=16)
    klass: str = Field(alias="class", min_length=1, max_length=16)
    points: int = Field(ge=-1000, le=1000)
    how: Literal["claim", "award", "auto"]
    monthly_cap: int | None = Field(None, gt=0)
    black_board: bool = False
    what: str = Field("", max_length=100)
    removed: bool = False  # the village does without this rule


class RegistryIn(Strict):
    org: UnitIn | None = None  # a knowledge base's file has none
    households: list[HouseholdIn] = []
    people: list[PersonIn] = []
    group_chats: list[ChatIn] = []
    points_rules: list[PointsRuleIn] = []
    # 政策咨询: the entries themselves ("entries" in a knowledge base's own file), and
    # knowledge-base files to import with this one (YAML or CSV, beside it)
    knowledge: list[EntryIn] = Field([], validation_alias=AliasChoices("knowledge", "entries"))
    knowledge_files: list[str] = []


class RegistryFileError(Exception):
    """The file is refused; `problems` name line and field, for the operator."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__("\n".join(f"{path}:{p}" for p in problems))
        self.problems = problems


# --- reading, with line numbers ---------------------------------------------------------

Path_ = tuple[str | int, ...]


def _plain(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            out[key] = _plain(value_node, (*path, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    """A key or value as safe_load reads it (a fresh constructor: it remembers its nodes)."""
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def _line(lines: dict[Path_, int], path: Path_) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def read_registry(path: Path) -> RegistryIn:
    """The registry (or knowledge base) in the file, or RegistryFileError naming each
    problem's line and field."""
    if path.suffix.lower() == ".csv":
        try:
            return RegistryIn(knowledge=entries_of_csv(path))
        except KnowledgeFileError as exc:
            raise RegistryFileError(path, exc.problems) from exc
    try:
        text = path.read_text(encoding="utf-8")
        # libyaml's parser when there is one: the pure-Python one takes a third of a second
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
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
            f"{_line(lines, tuple(e['loc']))}: {'.'.join(map(str, e['loc']))}: {_expected(e)}"
            for e in exc.errors()
        ]
        raise RegistryFileError(path, problems) from exc
    problems = list(_check_references(registry, lines))
    section = "entries" if "entries" in data else "knowledge"
    where = [_line(lines, (section, i)) for i in range(len(registry.knowledge))]
    problems += check(registry.knowledge, where)
    if problems:
        raise RegistryFileError(path, problems)
    included = [e for name in registry.knowledge_files for e in _included(path, name)]
    if not included:
        return registry
    return registry.model_copy(update={"knowledge": [*registry.knowledge, *included]})


def _included(path: Path, name: str) -> list[EntryIn]:
    """The entries of a knowledge-base file the registry names (its problems are its own)."""
    return read_registry(path.parent / name).knowledge


# What a field should hold, in the words of a refusal ({…}: the error's context); other
# errors keep pydantic's words, "Input should be …" said as "must be …"
EXPECTED = {CODE: "letters, digits, _, . or - (no spaces)", PHONE: "11 digits, or nothing"}
NOUNS: dict[type[BaseModel] | None, str] = {
    RegistryIn: "the registry (org, households, people, group_chats, knowledge)",
    EntryIn: "a knowledge-base entry (title, variants, answer, keywords, source, unit …)",
    UnitIn: "a unit (code, name, level, children)",
    HouseholdIn: "a household (code, village, grid, address, points)",
    PointsRuleIn: "a village's points rule (village, code, name, class, points, how …)",
    PersonIn: "a person (code, name, phone, village, …)",
    RoleIn: "a role (role, unit, categories)",
    ChatIn: "a group chat (code, name, unit, purpose, channel, external_id, …)",
}
WORDS = {
    "missing": "is required",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "list_type": "must be a list (lines starting with -)",
}


def _expected(err: ErrorDetails) -> str:
    kind, ctx, loc = err["type"], err.get("ctx", {}), err["loc"]
    if kind == "string_pattern_mismatch":
        return "must be " + EXPECTED.get(ctx.get("pattern", ""), "in another form")
    if kind == "model_type":
        return "must be " + NOUNS.get(_model_at(loc), "a mapping (key: value lines)")
    if kind == "extra_forbidden":
        return "is not a field of " + NOUNS.get(_model_at(loc[:-1]), "this entry")
    words = WORDS.get(kind)
    return words.format(**ctx) if words else err["msg"].replace("Input should be", "must be")


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model the entry at `loc` is validated as (UnitIn for org.children.0)."""
    model: type[BaseModel] | None = RegistryIn
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        kind = field.annotation if field is not None else None
        model = kind if kind in NOUNS else next((a for a in get_args(kind) if a in NOUNS), None)
    return model


def walk_units(
    unit: UnitIn, parent: UnitIn | None, path: Path_
) -> Iterator[tuple[UnitIn, UnitIn | None, Path_]]:
    yield unit, parent, path
    for i, child in enumerate(unit.children):
        yield from walk_units(child, unit, (*path, "children", i))


def _check_references(reg: RegistryIn, lines: dict[Path_, int]) -> Iterator[str]:
    def at(path: Path_, name: str, msg: str) -> str:
        field = (*path, name) if name else path  # the field's own line when it has one
        return f"{_line(lines, field)}: {'.'.join(map(str, field))}: {msg}"

    units: dict[str, UnitIn] = {}
    parent_of: dict[str, str | None] = {}
    if reg.org is None:
        for name in ("households", "people", "group_chats", "points_rules"):
            if getattr(reg, name):
                yield f"1: org: is required with {name}"
        return
    for unit, parent, path in walk_units(reg.org, None, ("org",)):
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

    for i, rule in enumerate(reg.points_rules):
        yield from unit_is(rule.village, Level.VILLAGE, ("points_rules", i), "village")
    for i, entry in enumerate(reg.knowledge):
        if entry.unit is not None and entry.unit not in units:
            yield at(("knowledge", i), "unit", f"no unit {entry.unit}")
