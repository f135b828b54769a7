"""`villagebot import kb.yaml` / `kb.csv`: the knowledge base in, idempotently, on both
databases; a bad file refused whole, naming line and field; nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.importer import RegistryFileError, import_registry, read_registry
from storage.models import KbEntry, OrgUnit
from storage.repos import UnitOfWork

DATA = Path(__file__).parent.parent / "data"
KB = Path(__file__).parents[2] / "examples" / "kb.yaml"
CSV_HEADER = "title,variants,answer,keywords,source,unit,valid_from,valid_until\n"


async def entries(uow: UnitOfWork) -> list[KbEntry]:
    async with uow() as store:
        return list((await store.session.scalars(select(KbEntry).order_by(KbEntry.id))).all())


async def test_the_demo_knowledge_base_comes_in_once_and_a_change_updates_in_place(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    first = await import_registry(uow, read_registry(KB))
    assert first.created == {"kb_entry": 45}
    assert not (await import_registry(uow, read_registry(KB))).changed
    text = KB.read_text(encoding="utf-8")
    changed = tmp_path / "kb.yaml"
    changed.write_text(text.replace("source: ", "source: 新版 ", 1), encoding="utf-8")
    again = await import_registry(uow, read_registry(changed))
    assert again.updated == {"kb_entry": 1}
    rows = await entries(uow)
    assert len(rows) == 45
    assert sum(r.source.startswith("新版 ") for r in rows) == 1


async def test_a_csv_file_of_a_villages_own_entries(uow: UnitOfWork, tmp_path: Path) -> None:
    await import_registry(uow, read_registry(DATA / "registry.yaml"))
    kb = tmp_path / "kb.csv"
    kb.write_text(
        CSV_HEADER
        + "高龄补贴,八十岁有钱领吗|老人补贴咋领,柳树村：到村便民服务站登记。,敬老钱|长寿钱,"
        + "柳树村村委会（2026年11月）,V1,2026-01-01,\n"
        + "村医在哪,村卫生室在哪里,村卫生室在村委会旁边。,,,,,\n",
        encoding="utf-8",
    )
    await import_registry(uow, read_registry(kb))
    village, common = await entries(uow)
    async with uow() as store:
        v1 = await store.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "V1"))
    assert village.unit_id == v1
    assert village.variants == ["八十岁有钱领吗", "老人补贴咋领"]
    assert village.keywords == ["敬老钱", "长寿钱"]
    assert village.valid_from is not None
    assert common.unit_id is None
    assert common.keywords == []


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("entries:\n  - title: 低保\n    answer: " + "很" * 601 + "\n", 3, "entries.0.answer"),
        ("entries:\n  - title: 低保\n    answre: 有\n", 2, "entries.0.answre"),
        (
            "entries:\n  - {title: 低保, answer: 有}\n  - {title: 低保, answer: 没有}\n",
            3,
            "title: 低保 is in the file twice",
        ),
        ("entries:\n  - {title: 低保, answer: 有, unit: X9}\n  - title: 五保\n", 3, "answer"),
    ],
    ids=["too-long", "unknown-field", "twice", "missing-answer"],
)
async def test_a_bad_yaml_file_is_refused_naming_line_and_field(
    uow: UnitOfWork, tmp_path: Path, body: str, line: int, words: str
) -> None:
    bad = tmp_path / "kb.yaml"
    bad.write_text(body, encoding="utf-8")
    with pytest.raises(RegistryFileError) as refused:
        read_registry(bad)
    assert f"{bad}:{line}:" in str(refused.value)
    assert words in str(refused.value)
    assert await entries(uow) == []


def test_a_bad_csv_file_is_refused_naming_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "kb.csv"
    bad.write_text(CSV_HEADER + "低保,,有,,,,,\n,,没有标题,,,,,\n", encoding="utf-8")
    with pytest.raises(RegistryFileError) as refused:
        read_registry(bad)
    assert f"{bad}:3: title:" in str(refused.value)
    no_header = tmp_path / "plain.csv"
    no_header.write_text("低保,有\n", encoding="utf-8")
    with pytest.raises(RegistryFileError) as refused:
        read_registry(no_header)
    assert "header" in str(refused.value)


async def test_an_unknown_unit_refuses_the_whole_file(uow: UnitOfWork, tmp_path: Path) -> None:
    bad = tmp_path / "kb.yaml"
    bad.write_text(
        "entries:\n  - {title: 低保, answer: 有}\n  - {title: 五保, answer: 有, unit: X9}\n",
        encoding="utf-8",
    )
    with pytest.raises(RegistryFileError) as refused:
        await import_registry(uow, read_registry(bad))
    assert "no unit X9" in str(refused.value)
    async with uow() as store:
        assert await store.session.scalar(select(func.count()).select_from(KbEntry)) == 0
