"""Split the labelled policy questions (columns text, title; title `-`: none of the
knowledge base's entries answers it) into questions_train.csv and questions_test.csv, by
a seeded hash of each question's words: one in three to the test split, fixed whatever is
added later. The test split chooses nothing (bench/policy.py --tune reads train only).

    .venv/bin/python understanding/data/split_questions.py NEW.csv [NEW.csv …]
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRAIN, TEST = HERE / "questions_train.csv", HERE / "questions_test.csv"
SEED = "villagebot-questions-2026-12-02"  # fixed once, never changed
TEST_SHARE = 3


def in_test(text: str) -> bool:
    digest = hashlib.sha256(f"{SEED}\n{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % TEST_SHARE == 0


def read(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return [(r["text"], r["title"]) for r in csv.DictReader(fh)]


def write(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["text", "title"])
        out.writerows(rows)


def main(paths: list[str]) -> None:
    rows = [*read(TRAIN), *read(TEST)]
    seen = {t for t, _ in rows}
    for path in paths:
        for text, title in read(Path(path)):
            if text not in seen:
                seen.add(text)
                rows.append((text, title))
    write(TRAIN, [r for r in rows if not in_test(r[0])])
    write(TEST, [r for r in rows if in_test(r[0])])
    print(f"train {len(read(TRAIN))}, test {len(read(TEST))}")  # noqa: T201


if __name__ == "__main__":
    main(sys.argv[1:])
