"""Group commit for the inbound log of messages whose handler wrote nothing else.

Most messages ("帮助", a question, a flood warning) change nothing but the log. Giving each
its own transaction makes SQLite's one writer the bottleneck, so their rows are written
together: whoever arrives while a batch is being committed waits for the next one, which
commits all of them in one statement. Each caller returns only after its row is committed,
so a reply still never goes out for a message that is not logged.
"""

from __future__ import annotations

import asyncio
import logging

from storage.repos import UnitOfWork
from storage.repos.inbound import LogRow

log = logging.getLogger(__name__)


class InboundLogWriter:
    def __init__(self, uow: UnitOfWork, batch_size: int = 500) -> None:
        self._uow = uow
        self._batch_size = batch_size
        self._pending: list[tuple[LogRow, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def write(self, row: LogRow) -> bool:
        """Commit the row; False when the message was logged already (handled elsewhere).
        Raises what the database raised when the batch could not be committed."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def close(self) -> None:
        """Wait for the rows already handed over to be committed."""
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self._batch_size]
            del self._pending[: self._batch_size]
            try:
                await self._commit(batch)
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0], exc)
                    continue
                # One bad row must not take the others down: each alone, then.
                for item in batch:
                    try:
                        await self._commit([item])
                    except Exception as alone:
                        _fail(item, alone)

    async def _commit(self, batch: list[tuple[LogRow, asyncio.Future[bool]]]) -> None:
        async with self._uow() as store:
            inserted = await store.inbound.insert_new([row for row, _ in batch])
        for row, future in batch:
            if not future.done():  # its caller may have been cancelled meanwhile
                future.set_result((row["channel"], row["msg_id"]) in inserted)


def _fail(item: tuple[LogRow, asyncio.Future[bool]], exc: Exception) -> None:
    """The row could not be committed: its caller is told why. The log names the message,
    never its text (a villager's words stay out of the logs)."""
    row, future = item
    log.error(
        "could not commit the inbound log row of message %s/%s: %s",
        row["channel"],
        row["msg_id"],
        type(exc).__name__,
    )
    if not future.done():
        future.set_exception(exc)
