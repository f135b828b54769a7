"""The labelled corpus the model learns from (data/train.csv) and is measured on
(data/test.csv): how it was written and split is in data/README.md. Training reads the
train split only; the test split is for bench/understanding.py and the tests."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

CORPUS_DIR = Path(__file__).with_name("data")
TRAIN = CORPUS_DIR / "train.csv"
TEST = CORPUS_DIR / "test.csv"
PAIRS_TRAIN = CORPUS_DIR / "pairs_train.csv"  # two reports of one problem, or of two
PAIRS_TEST = CORPUS_DIR / "pairs_test.csv"
SPLIT_SEED = "villagebot-2026-12-02"  # the split's seed: fixed once, never changed
TEST_SHARE = 5  # one message in five goes to the test split


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str  # report, question, chat, checkin, sos, progress, points, policy
    category: str = ""  # a report's category

    @property
    def label(self) -> str:
        """What the model learns to say: an intent, or report:<category>."""
        return f"report:{self.category}" if self.intent == "report" else self.intent


def read(path: Path) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as f:
        return [
            Example(row["text"].strip(), row["intent"].strip(), (row["category"] or "").strip())
            for row in csv.DictReader(f)
            if row["text"].strip()
        ]


def write(path: Path, examples: Iterable[Example]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["text", "intent", "category"])
        out.writerows([e.text, e.intent, e.category] for e in examples)


@dataclass(frozen=True, slots=True)
class Pair:
    """Two villagers' reports of one category in one village within two days: about the same
    problem (`same`, one work order) or not."""

    a: str
    b: str
    same: bool
    category: str

    @property
    def text(self) -> str:  # what the split hashes
        return f"{self.a}\n{self.b}"


def read_pairs(path: Path) -> list[Pair]:
    with path.open(encoding="utf-8", newline="") as f:
        return [
            Pair(row["a"].strip(), row["b"].strip(), row["same"].strip() == "1", row["category"])
            for row in csv.DictReader(f)
            if row["a"].strip() and row["b"].strip()
        ]


def write_pairs(path: Path, pairs: Iterable[Pair]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["a", "b", "same", "category"])
        out.writerows([p.a, p.b, int(p.same), p.category] for p in pairs)


T = TypeVar("T", "Example", "Pair")


def in_test_split(example: Example | Pair) -> bool:
    """Which split a message (or pair) belongs to, by a seeded hash of its words: fixed for
    each whatever else the corpus holds, so adding messages never moves one."""
    digest = hashlib.sha256(f"{SPLIT_SEED}\n{example.text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % TEST_SHARE == 0


def split(examples: Sequence[T]) -> tuple[list[T], list[T]]:
    train = [e for e in examples if not in_test_split(e)]
    test = [e for e in examples if in_test_split(e)]
    return train, test
