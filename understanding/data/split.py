"""Add written messages to the corpus: each goes to train.csv or test.csv by the seeded hash
of its words (understanding.corpus.in_test_split), so a message's split never changes
whatever is added later. Run once per batch of new messages:

    .venv/bin/python understanding/data/split.py NEW.csv [NEW.csv …]
    .venv/bin/python understanding/data/split.py --pairs PAIRS.csv [PAIRS.csv …]

A message already in the corpus (the same words) is not added twice; its first label stays.
Pairs (columns a, b, same, category: two reports of one problem or of two) go to
pairs_train.csv and pairs_test.csv by the same rule.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from understanding.corpus import (
    PAIRS_TEST,
    PAIRS_TRAIN,
    TEST,
    TRAIN,
    Example,
    read,
    read_pairs,
    split,
    write,
    write_pairs,
)

INTENTS = {"report", "question", "chat", "checkin", "sos", "progress", "points", "policy"}


def check(example: Example, where: str) -> None:
    if example.intent not in INTENTS:
        raise SystemExit(f"{where}: intent {example.intent!r} is not one of {sorted(INTENTS)}")
    if (example.intent == "report") != bool(example.category):
        raise SystemExit(f"{where}: a report has a category, and nothing else has one")


def main(paths: list[str]) -> None:
    known = [*read(TRAIN), *read(TEST)] if TRAIN.exists() else []
    seen = {e.text for e in known}
    added = []
    for path in paths:
        for n, example in enumerate(read(Path(path)), start=2):
            check(example, f"{path}:{n}")
            if example.text not in seen:
                seen.add(example.text)
                added.append(example)
    train, test = split([*known, *added])
    write(TRAIN, train)
    write(TEST, test)
    print(f"added {len(added)}; train {len(train)}, test {len(test)}")  # noqa: T201
    for name, examples in (("train", train), ("test", test)):
        counts = Counter(e.category or e.intent for e in examples)
        print(name, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))  # noqa: T201


def main_pairs(paths: list[str]) -> None:
    known = [*read_pairs(PAIRS_TRAIN), *read_pairs(PAIRS_TEST)] if PAIRS_TRAIN.exists() else []
    seen = {p.text for p in known}
    added = []
    for path in paths:
        for pair in read_pairs(Path(path)):
            if pair.text not in seen and pair.a != pair.b:
                seen.add(pair.text)
                added.append(pair)
    train, test = split([*known, *added])
    write_pairs(PAIRS_TRAIN, train)
    write_pairs(PAIRS_TEST, test)
    same = sum(p.same for p in train), sum(p.same for p in test)
    counts = f"train {len(train)} ({same[0]} same), test {len(test)} ({same[1]} same)"
    print(f"added {len(added)} pairs; {counts}")  # noqa: T201


if __name__ == "__main__":
    if sys.argv[1:2] == ["--pairs"]:
        main_pairs(sys.argv[2:])
    else:
        main(sys.argv[1:])
