"""Repositories on one session. One Store is one transaction; only the unit of work commits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repos.boards import BoardRepo
from storage.repos.disclosure import DisclosureRepo
from storage.repos.elders import ElderRepo
from storage.repos.inbound import InboundRepo
from storage.repos.notices import NoticeRepo
from storage.repos.outbox import OutboxRepo
from storage.repos.points import PointsRepo
from storage.repos.policy import PolicyRepo
from storage.repos.registry import ChatRepo, IdentityRepo, OrgRepo, PeopleRepo
from storage.repos.reports import ReportRepo
from storage.repos.sweeps import SweepRepo


class Store:
    """Repositories sharing one session. The session touches the database only when a
    repository is used, so a handler that needs nothing from it costs no transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.org = OrgRepo(session)
        self.people = PeopleRepo(session)
        self.identities = IdentityRepo(session)
        self.chats = ChatRepo(session)
        self.inbound = InboundRepo(session)
        self.outbox = OutboxRepo(session)
        self.reports = ReportRepo(session)
        self.elders = ElderRepo(session)
        self.notices = NoticeRepo(session)
        self.sweeps = SweepRepo(session)
        self.points = PointsRepo(session)
        self.boards = BoardRepo(session)
        self.policy = PolicyRepo(session)
        self.disclosures = DisclosureRepo(session)

    @property
    def touched(self) -> bool:
        """Whether anything was read or written through this store."""
        s = self.session
        return s.in_transaction() or bool(s.new or s.dirty or s.deleted)


UnitOfWork = Callable[[], AbstractAsyncContextManager[Store]]


def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> UnitOfWork:
    """A factory of transactions: commit when the block ends cleanly, roll back otherwise."""

    @asynccontextmanager
    async def uow() -> AsyncIterator[Store]:
        async with sessions() as session:  # begins on first use; closing rolls back
            yield Store(session)
            await session.commit()

    return uow
