"""The knowledge base (政策咨询) as `villagebot import` reads it: a YAML file of `entries`
(or a registry with a `knowledge` section, or one naming `knowledge_files`), or a CSV file
with a header row. A bad file is refused whole, `file:line: field: problem`."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CODE = r"^[A-Za-z0-9_.-]+$"
MAX_ANSWER = 600
CSV_COLUMNS = ("title", "variants", "answer", "keywords", "source", "unit")
_LIST_SEP = re.compile(r"[|｜;；\n]")


class EntryIn(BaseModel):
    """One entry: `unit` (a unit's code) is its scope, none: every unit's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=40)
    variants: list[Annotated[str, Field(min_length=1, max_length=200)]] = []
    answer: str = Field(min_length=1, max_length=MAX_ANSWER)
    keywords: list[Annotated[str, Field(min_length=1, max_length=20)]] = []
    source: str = Field("", max_length=200)
    unit: Annotated[str, Field(max_length=32, pattern=CODE)] | None = None
    valid_from: date | None = None
    valid_until: date | None = None

    @field_validator("variants", "keywords", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        """A CSV cell holds a list as words between | (or ；)."""
        if isinstance(value, str):
            return [v.strip() for v in _LIST_SEP.split(value) if v.strip()]
        return value

    @field_validator("unit", "valid_from", "valid_until", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value


class KnowledgeFileError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_csv(path: Path) -> tuple[list[dict[str, str]], list[int]]:
    """The rows of a CSV knowledge base (header: title, variants, answer, keywords, source,
    unit, valid_from, valid_until) and the line each starts on."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"title", "answer"} - set(reader.fieldnames or ())
            if missing:
                raise KnowledgeFileError([f"1: header: needs {', '.join(sorted(missing))}"])
            rows, lines = [], []
            line = reader.line_num + 1
            for row in reader:
                if None in row:
                    raise KnowledgeFileError([f"{line}: row: more cells than the header has"])
                rows.append({k: (v or "").strip() for k, v in row.items() if k})
                lines.append(line)
                line = reader.line_num + 1
    except OSError as exc:
        raise KnowledgeFileError([f"0: cannot read: {exc.strerror}"]) from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise KnowledgeFileError([f"0: not a CSV file: {exc}"]) from exc
    return rows, lines


def entries_of_csv(path: Path) -> list[EntryIn]:
    rows, lines = read_csv(path)
    entries, problems = [], []
    for row, line in zip(rows, lines, strict=True):
        try:
            entries.append(EntryIn.model_validate(row))
        except ValidationError as exc:
            for e in exc.errors():
                field = ".".join(map(str, e["loc"]))
                problems.append(
                    f"{line}: {field}: {e['msg'].replace('Input should be', 'must be')}"
                )
    if problems:
        raise KnowledgeFileError(problems)
    return entries


def check(entries: list[EntryIn], where: list[int]) -> list[str]:
    """Problems across entries: a title twice in one scope, a validity that ends first."""
    problems, seen = [], set()
    for entry, line in zip(entries, where, strict=True):
        key = (entry.unit, entry.title)
        if key in seen:
            problems.append(f"{line}: title: {entry.title} is in the file twice for one unit")
        seen.add(key)
        if entry.valid_from and entry.valid_until and entry.valid_until < entry.valid_from:
            problems.append(f"{line}: valid_until: is before valid_from")
    return problems
