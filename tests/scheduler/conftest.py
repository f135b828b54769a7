"""The district fixture for the scheduler's notice and digest tests."""

from __future__ import annotations

import pytest

from bot.app import Services
from bot.clock import FixedClock
from storage.importer import import_registry, read_registry
from tests.conftest import DATA
from tests.scheduler.district import Client, District
from tests.sim_support import enroll


@pytest.fixture
async def district(client: Client, services: Services, clock: FixedClock) -> District:
    await import_registry(services.uow, read_registry(DATA / "district.yaml"), clock.now())
    await enroll(services)
    return District(client, services, clock)
