"""How well the bot understands villagers, on the corpus's test split (never used to choose
words, weights or thresholds): accuracy per report category and a confusion matrix,
report-vs-not precision and recall, SOS recall and false alarms, the time to read one
message, and whether the words' likeness tells two reports of one problem from two.

    .venv/bin/python bench/understanding.py            # the figures on the test split
    .venv/bin/python bench/understanding.py --tune     # cross-validation on the train split

`--tune` is how the regularisation and the thresholds in understanding/ were chosen: five
folds of the train split alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from understanding import Understanding
from understanding.corpus import (
    PAIRS_TEST,
    PAIRS_TRAIN,
    TEST,
    TRAIN,
    Example,
    Pair,
    read,
    read_pairs,
)
from understanding.reading import Intent, Reading

SOS_WORDS = ("救命", "求助", "摔倒")  # bot.elder_sos_words' default, as the observer checks


def given(r: Reading) -> str:
    """The category the bot gives a report: made at once, or first of the choices when it
    asks (a report it takes for something else and does not ask about: none)."""
    return r.likely[0] if (r.is_report or r.ask) and r.likely else "(not a report)"


def evaluate(u: Understanding, examples: list[Example]) -> None:
    readings = []
    times = []
    for e in examples:
        started = time.perf_counter()
        readings.append(u.read(e.text))
        times.append(time.perf_counter() - started)
    reports = [(e, r) for e, r in zip(examples, readings, strict=True) if e.intent == "report"]
    print(f"test split: {len(examples)} messages, {len(reports)} reports")
    by_category: dict[str, list[bool]] = {}
    confusion: Counter[tuple[str, str]] = Counter()
    for e, r in reports:
        guess = given(r)
        by_category.setdefault(e.category, []).append(guess == e.category)
        confusion[(e.category, guess)] += 1
    print("\ncategory accuracy (of the reports, the category the bot gives or offers first)")
    for name, hits in sorted(by_category.items()):
        print(f"  {name:<8} {sum(hits) / len(hits):7.1%}  ({sum(hits)}/{len(hits)})")
    total = sum(sum(h) for h in by_category.values()) / len(reports)
    print(f"  {'all':<8} {total:7.1%}")
    names = sorted(by_category)
    print("\nconfusion (rows: true, columns: given; . is 0)")
    print(" " * 10 + " ".join(f"{n[:2]:>4}" for n in [*names, "非报"]))
    for t in names:
        cells = [confusion[(t, g)] for g in [*names, "(not a report)"]]
        print(f"  {t:<8}" + " ".join(f"{c or '.':>5}" for c in cells))
    truth = [e.intent == "report" for e in examples]
    said = [r.is_report for r in readings]
    asked = [r.is_report or r.ask for r in readings]
    for title, guesses in (("made a report", said), ("made a report or asked", asked)):
        tp = sum(t and g for t, g in zip(truth, guesses, strict=True))
        precision = tp / max(1, sum(guesses))
        recall = tp / max(1, sum(truth))
        agree = sum(t == g for t, g in zip(truth, guesses, strict=True)) / len(truth)
        print(
            f"\nreport vs not ({title}): accuracy {agree:.1%}, "
            f"precision {precision:.1%}, recall {recall:.1%}"
        )
    sos = [
        r.alarm or any(w in e.text for w in SOS_WORDS)
        for e, r in zip(examples, readings, strict=True)
    ]
    true_sos = [e.intent == Intent.SOS for e in examples]
    caught = sum(s and t for s, t in zip(sos, true_sos, strict=True))
    false = sum(s and not t for s, t in zip(sos, true_sos, strict=True))
    print(
        f"\nSOS: recall {caught / max(1, sum(true_sos)):.1%} ({caught}/{sum(true_sos)}), "
        f"false alarms {false / max(1, len(examples) - sum(true_sos)):.1%} "
        f"({false}/{len(examples) - sum(true_sos)})"
    )
    intents = sum(
        (r.intent.value == e.intent) for e, r in zip(examples, readings, strict=True)
    ) / len(examples)
    print(f"intent accuracy: {intents:.1%}")
    ms = sorted(t * 1000 for t in times)
    print(
        f"\ntime per message: median {statistics.median(ms):.2f} ms, "
        f"p99 {ms[int(len(ms) * 0.99) - 1]:.2f} ms, max {ms[-1]:.2f} ms"
    )


def pairs(u: Understanding, train: list[Pair], test: list[Pair]) -> None:
    """Whether the words' likeness tells two reports of one problem from two problems: the
    threshold that does best on the train pairs, and how it does on the test pairs."""

    def rates(ps: list[Pair], threshold: float) -> tuple[float, float, float]:
        said = [u.likeness(p.a, p.b) >= threshold for p in ps]
        tp = sum(s and p.same for s, p in zip(said, ps, strict=True))
        agree = sum(s == p.same for s, p in zip(said, ps, strict=True)) / len(ps)
        return agree, tp / max(1, sum(said)), tp / max(1, sum(p.same for p in ps))

    steps = [t / 100 for t in range(5, 95, 5)]
    best = max(steps, key=lambda t: rates(train, t)[0])
    agree, precision, recall = rates(test, best)
    same = sum(p.same for p in test)
    print(
        f"\nsame problem by the words' likeness ({len(test)} test pairs, {same} the same): "
        f"at {best:.2f} (best on the {len(train)} train pairs) accuracy {agree:.1%}, "
        f"precision {precision:.1%}, recall {recall:.1%}; always 'the same' would be "
        f"{same / len(test):.1%}, so the bot links by pins only and asks otherwise"
    )


def tune(train: list[Example]) -> None:
    """Five folds of the train split: for each regularisation, the figures the targets
    name, and SOS recall and false alarms at a few thresholds."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from understanding.keywords import keywords
    from understanding.model import build, prepared
    from understanding.reading import decide

    u = Understanding(corpus=TRAIN)
    kw = keywords(tuple((c.name, w) for c in u.categories.values() for w in c.words), None)
    texts = [prepared(e.text) for e in train]
    labels = [e.label for e in train]
    folds = StratifiedKFold(5, shuffle=True, random_state=7)
    for alpha in (3e-6, 1e-5, 3e-5):
        pipeline = build(kw, alpha)
        rows = cross_val_predict(pipeline, texts, labels, cv=folds, method="predict_proba")
        classes = sorted(set(labels))
        readings = [decide(dict(zip(classes, map(float, r), strict=True))) for r in rows]
        reports = [(e, r) for e, r in zip(train, readings, strict=True) if e.intent == "report"]
        category = sum(given(r) == e.category for e, r in reports) / len(reports)
        split = sum(
            (e.intent == "report") == r.is_report for e, r in zip(train, readings, strict=True)
        ) / len(train)
        print(f"alpha={alpha:<6} category {category:.1%}  report-vs-not {split:.1%}")
        for threshold in (0.05, 0.1, 0.2, 0.3):
            alarms = [r.sos >= threshold or r.intent is Intent.SOS for r in readings]
            truth = [e.intent == "sos" for e in train]
            caught = sum(a and t for a, t in zip(alarms, truth, strict=True)) / sum(truth)
            false = sum(a and not t for a, t in zip(alarms, truth, strict=True)) / (
                len(truth) - sum(truth)
            )
            print(f"    SOS at {threshold:.2f}: recall {caught:.1%}, false alarms {false:.1%}")
        truth = [e.intent == "report" for e in train]
        for at in (0.5, 0.65, 0.8):
            said = [r.report >= at for r in readings]
            agree = sum(s == t for s, t in zip(said, truth, strict=True)) / len(truth)
            print(f"    a report at {at:.2f}: report-vs-not {agree:.1%}")
        for sure in (0.4, 0.55, 0.7):
            made = [(e, r) for e, r in reports if r.category_confidence >= sure]
            right = sum(r.category == e.category for e, r in made) / max(1, len(made))
            share = len(made) / len(reports)
            print(f"    sure at {sure:.2f}: {share:.0%} made, {right:.1%} right")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="cross-validate on the train split")
    args = parser.parse_args()
    if args.tune:
        tune(read(TRAIN))
        return
    u = Understanding()
    started = time.perf_counter()
    u.categories  # noqa: B018 (builds it: jieba's dictionary and the model)
    print(f"built in {time.perf_counter() - started:.1f} s (train split: {len(read(TRAIN))})")
    evaluate(u, read(TEST))
    pairs(u, read_pairs(PAIRS_TRAIN), read_pairs(PAIRS_TEST))


if __name__ == "__main__":
    main()
