"""政策咨询: how well the knowledge base's answers are found, on the labelled questions'
test split (understanding/data/questions_test.csv, never used to choose words, weights or
thresholds), and how long ranking one question takes among 2,000 entries.

    .venv/bin/python bench/policy.py           # the figures on the test split
    .venv/bin/python bench/policy.py --tune    # the weights and thresholds, on train only

Top-1: the first entry ranked is the question's topic; top-3: it is among the first three.
The verdict (answer at once / offer three / ask the cadres) is measured too.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.registry_file import read_registry
from understanding import ranking
from understanding.data.split_questions import TEST, TRAIN, read
from understanding.ranking import Doc, Ranker, Words, read_synonyms, verdict

KB = Path(__file__).resolve().parent.parent / "examples" / "kb.yaml"
ENTRIES = 2000


def docs() -> list[Doc]:
    entries = read_registry(KB).knowledge
    return [Doc(i, e.title, tuple(e.variants), tuple(e.keywords)) for i, e in enumerate(entries)]


def ranker(kb: list[Doc]) -> Ranker:
    known = [w for d in kb for w in (d.title, *d.keywords)]
    return Ranker(kb, Words(read_synonyms(), known))


def figures(r: Ranker, questions: list[tuple[str, str]]) -> dict[str, float]:
    top1 = top3 = sure = sure_right = none_right = nones = 0
    asked = [q for q in questions if q[1] != "-"]
    for text, title in questions:
        scored, most = r.rank(text)
        titles = [r.docs[s.key].title for s in scored]
        said = verdict(scored, most)
        if title == "-":
            nones += 1
            none_right += said == "none"
            continue
        top1 += titles[:1] == [title]
        top3 += title in titles[:3]
        if said == "sure":
            sure += 1
            sure_right += titles[0] == title
    n = max(len(asked), 1)
    return {
        "top1": top1 / n,
        "top3": top3 / n,
        "sure_share": sure / n,
        "sure_right": sure_right / max(sure, 1),
        "none_right": none_right / max(nones, 1),
        "questions": len(asked),
        "unanswerable": nones,
    }


def show(name: str, f: dict[str, float]) -> None:
    print(
        f"{name}: {f['questions']:.0f} questions on a topic, {f['unanswerable']:.0f} on none\n"
        f"  top-1 {f['top1']:.1%}   top-3 {f['top3']:.1%}\n"
        f"  answered at once {f['sure_share']:.1%} of them, right {f['sure_right']:.1%}\n"
        f"  questions on no topic sent to the cadres {f['none_right']:.1%}"
    )


def speed(kb: list[Doc], questions: list[tuple[str, str]]) -> None:
    """2,000 entries: the demo's 45, and as many again for each village of a district (the
    same topics worded as villages word them: a village's own entry of each)."""
    many = [
        Doc(len(kb) * k + d.key, f"{d.title}{k}", d.variants[k % 3 :], d.keywords)
        for k in range(ENTRIES // len(kb) + 1)
        for d in kb
    ][:ENTRIES]
    r = ranker(many)
    times = []
    for _ in range(3):
        for text, _title in questions:
            started = time.perf_counter()
            r.rank(text)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[int(len(times) * 0.99)]
    print(
        f"ranking among {len(many)} entries: median {statistics.median(times):.2f} ms, "
        f"p99 {p99:.2f} ms ({len(times)} questions)"
    )


def tune(kb: list[Doc], train: list[tuple[str, str]]) -> None:
    """Weights by top-1 then top-3 on train; then the thresholds: the most answered at
    once with at least 95 % of those right, and questions on no topic sent on."""
    best: tuple[tuple[float, float], tuple[float, ...]] | None = None
    for title, keyword, pair in itertools.product(
        (2.0, 3.0, 4.0), (1.0, 2.0, 3.0), (0.0, 0.5, 1.0)
    ):
        ranking.TITLE, ranking.KEYWORD, ranking.PAIR = title, keyword, pair
        f = figures(ranker(kb), train)
        if best is None or (f["top1"], f["top3"]) > best[0]:
            best = ((f["top1"], f["top3"]), (title, keyword, pair))
    assert best is not None
    ranking.TITLE, ranking.KEYWORD, ranking.PAIR = best[1]
    print(
        f"weights title, keyword, pair = {best[1]}: top-1 {best[0][0]:.1%}, top-3 {best[0][1]:.1%}"
    )
    r = ranker(kb)
    for nothing, sure in itertools.product(
        (0.1, 0.15, 0.2, 0.25, 0.3), (0.1, 0.15, 0.2, 0.25, 0.3, 0.4)
    ):
        ranking.NOTHING, ranking.SURE = nothing, sure
        f = figures(r, train)
        print(
            f"  NOTHING {nothing:.2f} SURE {sure:.2f}: at once {f['sure_share']:.1%} "
            f"(right {f['sure_right']:.1%}), none sent on {f['none_right']:.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="choose weights on train only")
    args = parser.parse_args()
    kb = docs()
    if args.tune:
        tune(kb, read(TRAIN))
        return
    show("test split", figures(ranker(kb), read(TEST)))
    speed(kb, read(TEST) + read(TRAIN))


if __name__ == "__main__":
    main()
