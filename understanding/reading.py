"""What a message is, decided from the model's probabilities: the intent, and for a report
its category and how sure. The thresholds were chosen by cross-validation on the train
split (bench/understanding.py --tune), never on the test split."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from understanding.categories import OTHER

REPORT = "report:"
SURE = 0.70  # a report's category this likely: made at once; less: the villager is asked
REPORT_AT = 0.65  # a message this likely a report (its categories together) is one
MAYBE = 0.30  # a report this likely, though not so likely as that: asked too
SOS = 0.05  # an elder's message this likely an SOS raises one: a false alarm beats a miss


class Intent(StrEnum):
    REPORT = "report"
    QUESTION = "question"
    CHAT = "chat"  # greetings, thanks, chit-chat
    CHECKIN = "checkin"
    SOS = "sos"
    PROGRESS = "progress"
    POINTS = "points"
    POLICY = "policy"
    UNKNOWN = "unknown"  # nothing the model can read (no Chinese at all: "hello", "ok")


@dataclass(frozen=True, slots=True)
class Reading:
    intent: Intent
    confidence: float  # of the intent
    category: str  # a report's likeliest category ("" for what is not one)
    category_confidence: float  # of the category, given that it is a report
    likely: tuple[str, ...]  # the likeliest categories, best first (to ask between)
    report: float  # how likely it is a report at all
    sos: float  # how likely it is an SOS

    @property
    def is_report(self) -> bool:
        return self.intent is Intent.REPORT

    @property
    def sure(self) -> bool:
        """A report whose category is clear enough to make it without asking."""
        return self.is_report and self.category_confidence >= SURE

    @property
    def ask(self) -> bool:
        """Maybe a report, or one whose category is unclear: ask the villager in one line."""
        return (self.is_report and not self.sure) or (not self.is_report and self.report >= MAYBE)

    @property
    def alarm(self) -> bool:
        return self.intent is Intent.SOS or self.sos >= SOS


def unread() -> Reading:
    """The reading of words the model has nothing to go on for."""
    return Reading(Intent.UNKNOWN, 0.0, "", 0.0, (), 0.0, 0.0)


def decide(probabilities: dict[str, float], admin_category: str | None = None) -> Reading:
    """The reading of the model's probabilities; a word an admin added decides the category
    (and makes it a report)."""
    categories = sorted(
        (
            (p, label[len(REPORT) :])
            for label, p in probabilities.items()
            if label.startswith(REPORT)
        ),
        reverse=True,
    )
    report = sum(p for p, _ in categories)
    others = {label: p for label, p in probabilities.items() if not label.startswith(REPORT)}
    best_other = max(others, key=others.__getitem__) if others else ""
    is_report = admin_category is not None or report >= REPORT_AT
    likely = tuple(name for _, name in categories[:3])
    if admin_category is not None:
        likely = (admin_category, *(n for n in likely if n != admin_category))[:3]
        category, confidence = admin_category, 1.0
    elif categories:
        category, confidence = categories[0][1], categories[0][0] / max(report, 1e-9)
    else:
        category, confidence = OTHER, 0.0
    return Reading(
        intent=Intent.REPORT if is_report else Intent(best_other),
        confidence=max(report, 1.0 if admin_category else 0.0)
        if is_report
        else others[best_other],
        category=category if is_report else "",
        category_confidence=confidence if is_report else 0.0,
        likely=likely,
        report=report,
        sos=probabilities.get(Intent.SOS.value, 0.0),
    )
