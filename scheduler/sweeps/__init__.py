"""Every sweep, one module per feature; importing this registers them all in JOBS."""

from scheduler.jobs import JOBS
from scheduler.sweeps import digests, elders, notices, points, reports

__all__ = ["JOBS", "digests", "elders", "notices", "points", "reports"]
