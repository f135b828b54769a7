"""`villagebot import`: the registry file in, idempotently; a bad file refused whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.importer import RegistryFileError, import_registry, read_registry
from storage.models import (
    Base,
    ElderContact,
    GroupChat,
    Household,
    Level,
    OrgUnit,
    Person,
    RoleAssignment,
)
from storage.repos import UnitOfWork

DATA = Path(__file__).parent.parent / "data"
REGISTRY = DATA / "registry.yaml"
DEMO = Path(__file__).parent.parent.parent / "examples" / "demo.yaml"
TABLES: tuple[type[Base], ...] = (
    OrgUnit,
    Household,
    Person,
    RoleAssignment,
    ElderContact,
    GroupChat,
)


async def counts(uow: UnitOfWork) -> dict[str, int]:
    async with uow() as store:
        return {
            model.__tablename__: int(
                await store.session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in TABLES
        }


def variant(tmp_path: Path, old: str, new: str) -> Path:
    """The test registry with one piece of text replaced."""
    text = REGISTRY.read_text(encoding="utf-8")
    assert old in text, old
    changed = tmp_path / "registry.yaml"
    changed.write_text(text.replace(old, new, 1), encoding="utf-8")
    return changed


def line_of(path: Path, fragment: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in {path}")


async def test_import_creates_everything_once(uow: UnitOfWork) -> None:
    summary = await import_registry(uow, read_registry(REGISTRY))
    expected = {
        "org_unit": 5,
        "household": 2,
        "person": 8,
        "role_assignment": 3,
        "elder_contact": 2,
        "group_chat": 3,
    }
    assert summary.created == expected
    assert await counts(uow) == expected
    again = await import_registry(uow, read_registry(REGISTRY))
    assert again.changed == 0
    assert await counts(uow) == expected


async def test_a_changed_file_updates_in_place(uow: UnitOfWork, tmp_path: Path) -> None:
    await import_registry(uow, read_registry(REGISTRY))
    before = await counts(uow)
    changed = variant(tmp_path, "name: 赵网格", "name: 赵新网格")
    text = changed.read_text(encoding="utf-8").replace(
        "households:\n",
        "households:\n  - {code: H3, village: V1, grid: G1, address: 柳树村1组9号}\n",
    )
    changed.write_text(text, encoding="utf-8")
    summary = await import_registry(uow, read_registry(changed))
    assert summary.created == {"household": 1}
    assert summary.updated == {"person": 1}
    after = await counts(uow)
    assert after["household"] == before["household"] + 1
    assert after["person"] == before["person"]
    async with uow() as store:
        names = set((await store.session.scalars(select(Person.name))).all())
    assert "赵新网格" in names
    assert "赵网格" not in names


async def test_phone_numbers_are_not_stored_in_full(uow: UnitOfWork) -> None:
    await import_registry(uow, read_registry(REGISTRY))
    async with uow() as store:
        person = (await store.people.matching("李书记", "2222"))[0]
        row = (await store.session.execute(select(Person).where(Person.id == person.id))).one()
    values = [str(getattr(row[0], c.key)) for c in Person.__table__.columns]
    assert not any("13900002222" in v for v in values)
    assert person.phone_last4 == "2222"
    assert "2222" in person.phone_masked
    assert person.phone_masked.startswith("139")


BAD_FILES = [
    # (what is wrong, text replaced, replacement, line fragment, words the message must hold)
    (
        "unknown role",
        "{role: grid_worker, unit: G2}",
        "{role: mayor, unit: G2}",
        "role: mayor",
        "role",
    ),
    (
        "missing village",
        "    village: V1\n    grid: G1\n    household: H1",
        "    village: V9\n    household: H1",
        "village: V9",
        "V9",
    ),
    ("duplicate code", "  - code: P3\n", "  - code: P2\n", "code: P2", "used twice"),
    ("short phone", '"13900004444"', '"1390000444"', "1390000444", "phone: must be 11 digits"),
    (
        "unknown field",
        "name: 孙小明",
        "name: 孙小明\n    age: 9",
        "age: 9",
        "age: is not a field of a person (code, name",
    ),
    (
        "unit as a word",
        "- {code: G2, name: 柳树村二网格, level: grid}",
        "- G2",
        "- G2",
        "must be a unit (code, name, level, children)",
    ),
    ("bad code", "  - code: P3\n", "  - code: P 3\n", "code: P 3", "letters, digits"),
]


@pytest.mark.parametrize(
    ("old", "new", "fragment", "words"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
async def test_bad_file_is_refused_naming_line_and_field_and_nothing_is_written(
    uow: UnitOfWork, tmp_path: Path, old: str, new: str, fragment: str, words: str
) -> None:
    bad = variant(tmp_path, old, new)
    with pytest.raises(RegistryFileError) as refused:
        read_registry(bad)
    message = str(refused.value)
    assert f"{bad}:{line_of(bad, fragment)}:" in message
    assert words in message
    for internal in ("In)", "Input should", "pattern", "^", "Extra inputs"):  # UnitIn, regex
        assert internal not in message
    assert sum((await counts(uow)).values()) == 0


async def test_a_grid_directly_under_a_township_is_refused(tmp_path: Path) -> None:
    bad = variant(
        tmp_path,
        "      children:\n        - code: V1",
        "      children:\n        - {code: G9, name: 河口镇网格, level: grid}\n        - code: V1",
    )
    with pytest.raises(RegistryFileError) as refused:
        read_registry(bad)
    assert f"{bad}:{line_of(bad, 'code: G9')}:" in str(refused.value)
    assert "level" in str(refused.value)


@pytest.mark.parametrize(
    ("content", "words"),
    [("org: [unclosed\n", "not valid YAML"), ("", "empty"), ("# only a comment\n", "empty")],
    ids=["bad-yaml", "empty", "only-comment"],
)
def test_unreadable_files_are_refused(tmp_path: Path, content: str, words: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(RegistryFileError) as refused:
        read_registry(bad)
    assert words in str(refused.value)
    assert str(bad) in str(refused.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistryFileError) as refused:
        read_registry(tmp_path / "nowhere.yaml")
    assert "cannot read" in str(refused.value)


async def test_the_demo_registry_is_complete(uow: UnitOfWork) -> None:
    demo = read_registry(DEMO)
    await import_registry(uow, demo)
    async with uow() as store:
        units = (await store.session.scalars(select(OrgUnit))).all()
        people = (await store.session.scalars(select(Person))).all()
        chats = (await store.session.scalars(select(GroupChat))).all()
        households = (await store.session.scalars(select(Household))).all()
    levels = [u.level for u in units]
    assert [levels.count(level) for level in Level] == [1, 2, 4, 8]
    assert len(households) >= 24
    assert len(people) >= 40
    villages = {u.id for u in units if u.level is Level.VILLAGE}
    assert {p.village_id for p in people if p.is_elder} == villages
    assert [p.locale for p in people].count("en") == 1
    digits = [p.phone_last4 for p in people]
    assert len(set(digits)) == len(digits)  # binding by name + last 4 digits stays unique
    by_unit = {(c.org_unit_id, c.purpose.value) for c in chats}
    for village in villages:
        assert {(village, "residents"), (village, "cadres")} <= by_unit
    assert {u.level for u in units if (u.id, "cadres") in by_unit} == set(Level) - {Level.GRID}
