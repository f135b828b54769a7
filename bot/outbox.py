"""Every push goes through here: written with the change that causes it, sent by a worker.

`enqueue` adds a push to the caller's transaction, so a push exists exactly when the state
change behind it was committed. The worker claims due rows (each the oldest of its target,
so a target's messages stay in order), sends them through the channel's sender and records
the platform's answer. A target's rate limit lives in the key-value store, shared by all
instances; a throttled target waits without holding up the others.

The one window for a duplicate: a worker that crashes after the platform accepted a push
but before the acceptance was committed. Its claim runs out and the push is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from aiohttp import ClientError

from bot.clock import Clock
from bot.config import OutboxSettings
from bot.i18n import Translations
from bot.message import Push, Reply
from bot.metrics import Metrics
from bot.outbox_merge import digest, mergeable, run_behind
from bot.store import KeyValue
from storage.models import OutboxMessage, OutboxStatus, Role
from storage.repos import Store, UnitOfWork

log = logging.getLogger(__name__)

ALERT = "alert.dead_letter"  # the purpose of the admins' alerts (never alerted about)
# The purpose of pushes that must never wait (an elder's SOS, an elder gone quiet): never
# held by quiet hours, and ahead of everything else due for the same person or group.
URGENT = "alert"


class SendError(Exception):
    """The platform did not take a push.

    `retry_after`: throttled; try again after that many seconds (not a failed attempt).
    `permanent`: trying again cannot help (bad credentials, the group is gone)."""

    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after


class Sender(Protocol):
    name: str

    def send_interval(self, push: Push) -> float:
        """Seconds to leave between two sends to this push's target (0: no limit)."""
        ...

    async def prepare(self, pushes: Sequence[Push]) -> None:
        """About to send these: load what they need at once (a fan-out to 1,500 groups
        costs one lookup, not 1,500)."""
        ...

    async def send(self, push: Push) -> str:
        """Send now; return the platform's answer, or raise SendError."""
        ...


def enqueue(
    store: Store,
    push: Push,
    at: datetime,
    purpose: str = "",
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Add a push to the store's transaction: it is sent only if that commits (and not
    before `not_before`, when given). An URGENT push overtakes its target's queue."""
    return store.outbox.add(
        channel=push.channel,
        target=push.chat_id,
        is_group=push.is_group,
        reply=push.reply.model_dump(mode="json"),
        at=at,
        purpose=purpose,
        not_before=not_before,
        urgent=purpose == URGENT,
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed row, detached from its session."""

    id: int
    push: Push
    attempts: int
    purpose: str = ""

    @classmethod
    def of(cls, row: OutboxMessage) -> Claimed:
        reply = Reply.model_validate(row.reply)
        push = Push(channel=row.channel, chat_id=row.target, is_group=row.is_group, reply=reply)
        return cls(row.id, push, row.attempts, row.purpose)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed row, recorded with the others of its pass."""

    row: Claimed
    status: OutboxStatus
    answer: str = ""
    error: str | None = None
    attempts: int = 0
    not_before: datetime | None = None
    hold_until: datetime | None = None  # nothing more to the target before then
    sent_at: datetime | None = None

    async def record(self, store: Store, token: str) -> None:
        repo, row = store.outbox, self.row
        if self.status is OutboxStatus.SENT:
            assert self.sent_at is not None
            await repo.sent(row.id, token, at=self.sent_at, answer=self.answer)
        elif self.status is OutboxStatus.DEAD:
            await repo.dead(row.id, token, error=self.error or "", attempts=self.attempts)
        else:
            assert self.not_before is not None
            await repo.later(
                row.id,
                token,
                not_before=self.not_before,
                error=self.error,
                attempts=self.attempts,
            )
        if self.hold_until is not None:
            await repo.hold_target(row.push.channel, row.push.chat_id, self.hold_until)


class OutboxWorker:
    def __init__(
        self,
        uow: UnitOfWork,
        kv: KeyValue,
        clock: Clock,
        senders: Mapping[str, Sender],
        settings: OutboxSettings,
        translations: Translations,
        metrics: Metrics,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._uow = uow
        self._kv = kv
        self._clock = clock
        self._senders = senders
        self._settings = settings
        self._translations = translations
        self._metrics = metrics
        self._jitter = jitter
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # --- running ------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="outbox worker")

    async def stop(self, grace: float = 10.0) -> None:
        """Let the pass under way finish (its sends recorded), then stop; cancel it only if
        it takes longer than `grace` (its claims then run out and another worker resends)."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            pause = self._settings.poll_seconds
            try:
                busy = await self.run_once()
                failures = 0
            except Exception:
                # The database is down, most likely: say so, then wait longer each time.
                failures += 1
                pause = min(60.0, self._settings.poll_seconds * 2**failures)
                log.exception("outbox pass failed; trying again in %.0f s", pause)
                busy = 0
            if busy or self._stopping:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    async def run_once(self) -> int:
        """One pass: claim what is due, send it, record every outcome in one transaction.
        Returns how many rows it claimed."""
        now = self._clock.now()
        token = uuid.uuid4().hex
        until = now + timedelta(seconds=self._settings.lease_seconds)
        async with self._uow() as store:
            rows = await store.outbox.claim(
                now=now, until=until, token=token, limit=self._settings.batch
            )
            claimed = [Claimed.of(row) for row in rows]
            backlog = await store.outbox.backlogs(
                {(r.push.channel, r.push.chat_id) for r in claimed}
            )
            pending, oldest = await store.outbox.depth()
        self._metrics.outbox_pending.set(pending)
        self._metrics.outbox_oldest_seconds.set(
            (now - oldest).total_seconds() if oldest is not None else 0
        )
        if not claimed:
            return 0
        for name, sender in self._senders.items():
            pushes = [r.push for r in claimed if r.push.channel == name]
            if pushes:
                await sender.prepare(pushes)
        gate = asyncio.Semaphore(self._settings.concurrency)

        async def one(row: Claimed) -> Outcome:
            async with gate:
                return await self._deliver(row, token, backlog.get(_where(row), 1))

        outcomes = await asyncio.gather(*(one(row) for row in claimed))
        async with self._uow() as store:
            for outcome in outcomes:
                await outcome.record(store, token)
            dead = [
                o for o in outcomes if o.status is OutboxStatus.DEAD and o.row.purpose != ALERT
            ]
            if dead:
                await self._alert_admins(store, dead)
        return len(claimed)

    async def _alert_admins(self, store: Store, dead: list[Outcome]) -> None:
        """Tell the admins, once per pass however many died, what needs their hand."""
        first = dead[0]
        example = f"{first.row.push.channel}/{first.row.push.chat_id}"
        now = self._clock.now()
        for channel, external_id, locale in await store.people.reachable_with_role(Role.ADMIN):
            text = self._translations.for_locale(locale).t(
                "outbox.dead_alert", count=len(dead), example=example, error=first.error or ""
            )
            push = Push(
                channel=channel, chat_id=external_id, is_group=False, reply=Reply.of_text(text)
            )
            enqueue(store, push, now, ALERT)

    # --- one row --------------------------------------------------------------------------

    async def _deliver(self, row: Claimed, token: str, backlog: int) -> Outcome:
        channel = row.push.channel
        sender = self._senders.get(channel)
        if sender is None:
            return self._dead(row, f"no channel named {channel!r} is configured")
        interval = sender.send_interval(row.push)
        if interval > 0:
            slot = self._kv.keys.send_slot(channel, row.push.chat_id)
            wait = await self._kv.take_slot(slot, self._clock.now().timestamp(), interval)
            if wait > 0:
                self._metrics.outbox_throttle_waits.labels(channel).inc()
                return self._later(row, wait, None, row.attempts, hold=True)
            if backlog >= self._settings.merge_after:
                row = await self._merge_backlog(row, token)
        try:
            answer = await asyncio.wait_for(
                sender.send(row.push), self._settings.send_timeout_seconds
            )
        except SendError as exc:
            if exc.retry_after is not None:
                log.warning("outbox %d to %s throttled: %s", row.id, channel, exc)
                self._metrics.outbox_sends.labels(channel, "throttled").inc()
                return self._later(row, exc.retry_after, str(exc), row.attempts, hold=True)
            if exc.permanent:
                return self._dead(row, str(exc), row.attempts + 1)
            return self._failed(row, str(exc))
        except (ClientError, TimeoutError, OSError) as exc:
            return self._failed(row, f"{type(exc).__name__}: {exc}")
        self._metrics.outbox_sends.labels(channel, "sent").inc()
        at = self._clock.now()
        hold = at + timedelta(seconds=interval) if interval > 0 else None
        return Outcome(row, OutboxStatus.SENT, answer=answer, hold_until=hold, sent_at=at)

    def _failed(self, row: Claimed, error: str) -> Outcome:
        attempts = row.attempts + 1
        if attempts >= self._settings.max_attempts:
            return self._dead(row, f"{error} (after {attempts} tries)", attempts)
        log.info("outbox %d to %s failed (%s); try %d", row.id, row.push.channel, error, attempts)
        self._metrics.outbox_sends.labels(row.push.channel, "retry").inc()
        delay = min(
            self._settings.backoff_cap_seconds,
            self._settings.backoff_seconds * 2 ** (attempts - 1),
        )
        return self._later(row, delay * (0.5 + self._jitter() / 2), error, attempts)

    def _later(
        self, row: Claimed, seconds: float, error: str | None, attempts: int, *, hold: bool = False
    ) -> Outcome:
        """Try the row again in `seconds`; `hold` keeps its whole target waiting that long."""
        when = self._clock.now() + timedelta(seconds=seconds)
        return Outcome(
            row,
            OutboxStatus.PENDING,
            error=error,
            attempts=attempts,
            not_before=when,
            hold_until=when if hold else None,
        )

    def _dead(self, row: Claimed, error: str, attempts: int | None = None) -> Outcome:
        log.error("outbox %d to %s/%s is a dead letter: %s", row.id, *_where(row), error)
        self._metrics.outbox_sends.labels(row.push.channel, "dead").inc()
        tries = row.attempts if attempts is None else attempts
        return Outcome(row, OutboxStatus.DEAD, error=error, attempts=tries)

    async def _merge_backlog(self, row: Claimed, token: str) -> Claimed:
        """A rate-limited target whose queue holds more than a few minutes of sending gets
        the texts at the head of its queue as one digest instead. Only what markdown carries
        whole is merged: a picture, a card or a text with its photo goes as itself in its
        turn, so the digest stops before it; what is held for later stays for later."""
        if row.purpose == URGENT or not mergeable(row.push.reply):
            return row  # an alert is read as itself, never under a digest's title
        async with self._uow() as store:
            queue = await store.outbox.queued_behind(
                row.push.channel, row.push.chat_id, due_by=self._clock.now()
            )
            order = sorted(queue, key=lambda r: (not r.urgent, r.id))  # as claim() sends them
            at = next((n for n, r in enumerate(order) if r.id == row.id), None)
            if at is None or order[at].claim_token != token:  # not ours any more
                return row
            head, waiting = order[at], order[at + 1 :]
            texts = run_behind(row.push.reply, waiting)
            if not texts or len(waiting) + 1 < self._settings.merge_after:
                return row
            parts = [row.push.reply, *(Reply.model_validate(r.reply) for r in texts)]
            title = self._translations.for_locale(None).t("outbox.digest", count=len(parts))
            merged = digest(title, parts)
            head.reply = merged.model_dump(mode="json")
            await store.outbox.merge(head.id, [r.id for r in texts])
        self._metrics.outbox_sends.labels(row.push.channel, "merged").inc(len(texts))
        log.info("outbox: merged %d waiting pushes to %s/%s", len(texts), *_where(row))
        push = row.push.model_copy(update={"reply": merged})
        return Claimed(row.id, push, row.attempts, row.purpose)


def _where(row: Claimed) -> tuple[str, str]:
    return row.push.channel, row.push.chat_id
