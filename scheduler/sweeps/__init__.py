"""Every sweep, one module per feature; importing this registers them all in JOBS."""

from scheduler.jobs import JOBS
from scheduler.sweeps import digests, disclosure, elders, notices, points, questions, reports

__all__ = [
    "JOBS",
    "digests",
    "disclosure",
    "elders",
    "notices",
    "points",
    "questions",
    "reports",
]
