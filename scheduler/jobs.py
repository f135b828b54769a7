"""The sweeps, by name. Each reads the time it is given (never the wall clock), finds what is
due with an indexed query, changes it and queues its pushes in one transaction per batch, and
records what it did, so running it twice does nothing twice.

`villagebot run-job NAME [--at TIME]` runs one now; the scheduler runs them on their
schedules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.i18n import Translations
from bot.media import Links
from bot.message import Push, Reply
from bot.outbox import enqueue
from handlers.digests import daily, weekly
from handlers.elders import Care, climb, raise_quiet
from handlers.notices.desk import Desk, chase, publish
from handlers.reports.lifecycle import Tell, chase_overdue, close_unanswered
from storage.models import ChatPurpose, Level, Person
from storage.repos import Store, UnitOfWork

BATCH = 500
DIGEST_BATCH = 200  # villages per transaction of the daily digest
PUBLISH_BATCH = 5  # notices per transaction: each may be a push to every group in a county


@dataclass(frozen=True, slots=True)
class JobContext:
    uow: UnitOfWork
    settings: Settings
    translations: Translations
    now: datetime
    # the real time pushes may leave from when a sweep is run as if at another time
    # (`run-job --at`); None: `now`
    send_from: datetime | None = None

    def tell(self, store: Store) -> Tell:
        """Words in each recipient's language, pushed through the outbox in `store`'s
        transaction."""

        def words(locale: str | None, key: str, **values: Any) -> str:
            return self.translations.for_locale(locale).t(key, **values)

        def push(message: Push, purpose: str) -> None:
            # villagers and elders are not woken for what can wait; alerts never wait
            deferrable = purpose == "checkin" or (not message.is_group and purpose != "alert")
            later = quiet_until(self.now, self.settings) if deferrable else None
            enqueue(store, message, self.now, purpose, later or self.send_from)

        return Tell(store, words, push)

    def desk(self, store: Store) -> Desk:
        return Desk(
            self.tell(store),
            ZoneInfo(self.settings.bot.timezone),
            Links(self.settings.server.public_url),
        )

    def care(self, store: Store) -> Care:
        return Care(
            self.tell(store),
            ZoneInfo(self.settings.bot.timezone),
            timedelta(hours=self.settings.bot.elder_ack_hours),
        )


def quiet_until(now: datetime, settings: Settings) -> datetime | None:
    """The end of the quiet hours (scheduler.quiet_hours, local time) if `now` is inside
    them, else None."""
    if not settings.scheduler.quiet_hours:
        return None
    start, end = (time.fromisoformat(t) for t in settings.scheduler.quiet_hours.split("-"))
    zone = ZoneInfo(settings.bot.timezone)
    local = now.astimezone(zone)
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


JobFn = Callable[[JobContext], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    description: str
    schedule: str  # crontab, in the configured time zone; scheduler.jobs may change it
    run: JobFn


JOBS: dict[str, Job] = {}


def job(name: str, description: str, schedule: str) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        JOBS[name] = Job(name, description, schedule, fn)
        return fn

    return register


Batch = Callable[[Store, Tell], Awaitable[int]]  # one batch in one transaction -> items done


async def in_batches(jc: JobContext, batch: Batch, size: int = BATCH) -> int:
    """Run `batch` in its own transaction until one does less than `size` items."""
    total = 0
    while True:
        async with jc.uow() as store:
            done = await batch(store, jc.tell(store))
        total += done
        if done < size:
            return total


@job("close-resolved", "close resolved reports the villager never answered", "*/30 * * * *")
async def close_resolved(jc: JobContext) -> int:
    """随手拍: a resolved report with no 满意/不满意 for bot.report_auto_close_days is
    closed, recorded as closed automatically (not as satisfied); the villager is told."""
    days = jc.settings.bot.report_auto_close_days
    return await in_batches(
        jc, lambda store, tell: close_unanswered(store, tell, jc.now, days, BATCH)
    )


@job("chase-reports", "remind, then escalate, reports past their deadlines", "* * * * *")
async def chase_reports(jc: JobContext) -> int:
    """随手拍: past the accept or resolve deadline, the tier holding the report is reminded
    (the person in charge @mentioned); each scheduler.report_grace_hours more, it goes a
    tier up. Each step once per deadline, on the report's timeline."""
    grace = timedelta(hours=jc.settings.scheduler.report_grace_hours)
    return await in_batches(
        jc, lambda store, tell: chase_overdue(store, tell, jc.now, grace, BATCH)
    )


@job("publish-notices", "send the notices and tasks set to go out at a later time", "* * * * *")
async def publish_notices(jc: JobContext) -> int:
    """通知/督办 published for later: at their time, to every group they are for. A few per
    transaction, since one county notice is a push to every group in the county."""

    async def due(store: Store, tell: Tell) -> int:
        notices = await store.notices.to_publish(jc.now, PUBLISH_BATCH)
        for notice in notices:
            await publish(jc.desk(store), notice, jc.now)
        return len(notices)

    return await in_batches(jc, due, PUBLISH_BATCH)


@job("chase-notices", "remind units that missed a notice's or task's deadline", "*/5 * * * *")
async def chase_notices(jc: JobContext) -> int:
    """通知/督办: a unit that has not acknowledged (or completed) by the deadline is
    reminded in its groups; scheduler.notice_grace_hours later, its parent unit's groups are
    told. Each once: the row records its step."""
    grace = timedelta(hours=jc.settings.scheduler.notice_grace_hours)

    async def late(store: Store, tell: Tell) -> int:
        targets = await store.notices.chase_due(jc.now, BATCH)
        for target in targets:
            await chase(jc.desk(store), target, jc.now, grace)
        return len(targets)

    return await in_batches(jc, late)


@job("digest-daily", "each village's day, to its cadre group", "0 18 * * *")
async def digest_daily(jc: JobContext) -> int:
    """Each village with anything to say hears its day so far: reports made, fixed and
    late, elder alerts open, notices owed. Once a day per village."""
    zone = ZoneInfo(jc.settings.bot.timezone)
    local = jc.now.astimezone(zone)
    start = datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(UTC)
    sent, after = 0, 0
    while True:
        async with jc.uow() as store:
            villages = await store.sweeps.units_with_groups([Level.VILLAGE], after, DIGEST_BATCH)
            sent += await daily(jc.tell(store), villages, start, jc.now, local.date().isoformat())
        if len(villages) < DIGEST_BATCH:
            return sent
        after = villages[-1].id


@job("digest-weekly", "the week's ranking, to township and county groups", "30 8 * * 1")
async def digest_weekly(jc: JobContext) -> int:
    """Each township's villages (each county's townships) ranked for the last seven days, in
    a table: reports, closure and on-time rates, hours to accept and fix, satisfaction,
    notices answered, elder alerts raised and closed. Once a week per group."""
    zone = ZoneInfo(jc.settings.bot.timezone)
    local = jc.now.astimezone(zone)
    start = jc.now - timedelta(days=7)
    year, week, _ = local.isocalendar()
    period = f"{start.astimezone(zone):%m-%d}—{local:%m-%d}"
    levels = [Level.TOWNSHIP, Level.COUNTY]
    sent, after = 0, 0
    while True:
        async with jc.uow() as store:  # one unit per transaction: a county's is a big table
            units = await store.sweeps.units_with_groups(levels, after, 1)
            for unit in units:
                sent += await weekly(
                    jc.tell(store), unit, start, jc.now, f"{year}-W{week:02d}", period
                )
        if not units:
            return sent
        after = units[-1].id


@job("elder-watch", "alert on elders gone quiet; take unvisited alerts a step up", "*/5 * * * *")
async def elder_watch(jc: JobContext) -> int:
    """关爱: an elder quiet past their threshold gets an alert (caretakers, family); an
    alert nobody visited within bot.elder_ack_hours goes to the village secretary, then the
    township group. Each once: the watch and the alert record where they stand."""

    async def quiet(store: Store, tell: Tell) -> int:
        care = jc.care(store)
        watches = await store.elders.quiet(jc.now, BATCH)
        for watch in watches:
            await raise_quiet(care, watch, jc.now)
        return len(watches)

    async def unvisited(store: Store, tell: Tell) -> int:
        care = jc.care(store)
        alerts = await store.elders.alerts_due(jc.now, BATCH)
        for alert in alerts:
            await climb(care, alert, jc.now)
        return len(alerts)

    return await in_batches(jc, quiet) + await in_batches(jc, unvisited)


@job("elder-checkin", "ask elders not heard from since the last prompt how they are", "0 9 * * *")
async def elder_checkin(jc: JobContext) -> int:
    """The daily 平安 prompt, to elders not heard from in the day since the last one: 1:1,
    or an @mention in the village residents' group for an elder who is only there (or has
    no account of their own). Once a day: an elder prompted in the last 12 hours is not
    prompted again."""

    async def prompt(store: Store, tell: Tell) -> int:
        watches = await store.elders.to_prompt(
            jc.now - timedelta(days=1), jc.now - timedelta(hours=12), BATCH
        )
        for watch in watches:
            watch.prompted_at = jc.now
            elder = await store.people.get(watch.person_id)
            if elder is None:
                continue
            if watch.checkin_in_group or not await tell.person(
                elder, "elder.checkin_prompt", "checkin", name=elder.name
            ):
                await _prompt_in_group(store, tell, elder)
        return len(watches)

    return await in_batches(jc, prompt)


async def _prompt_in_group(store: Store, tell: Tell, elder: Person) -> None:
    if elder.village_id is None:
        return
    text = tell.text(elder.locale, "elder.checkin_prompt", name=elder.name)
    for group in await store.chats.of_unit(elder.village_id, ChatPurpose.RESIDENTS):
        identity = await store.identities.of_person(elder.id, group.channel)
        mentions = (identity.external_id,) if identity is not None else ()
        reply = Reply.of_text(text, mentions=mentions)
        push = Push(channel=group.channel, chat_id=group.external_id, is_group=True, reply=reply)
        tell.push(push, "checkin")
