"""关爱 sweeps: alerts for elders gone quiet and their ladder; the daily check-in prompt."""

from __future__ import annotations

from datetime import timedelta

from bot.message import Push, Reply
from handlers.elders import Care, climb, raise_quiet
from handlers.tell import Tell
from scheduler.jobs import BATCH, JobContext, in_batches, job
from storage.models import ChatPurpose, Person
from storage.repos import Store


def _care(jc: JobContext, store: Store) -> Care:
    return Care(jc.tell(store), jc.zone, timedelta(hours=jc.settings.bot.elder_ack_hours))


@job("elder-watch", "alert on elders gone quiet; take unvisited alerts a step up", "*/5 * * * *")
async def elder_watch(jc: JobContext) -> int:
    """关爱: an elder quiet past their threshold gets an alert (caretakers, family); an
    alert nobody visited within bot.elder_ack_hours goes to the village secretary, then the
    township group. Each once: the watch and the alert record where they stand."""

    async def quiet(store: Store, tell: Tell) -> int:
        care = _care(jc, store)
        watches = await store.elders.quiet(jc.now, BATCH)
        for watch in watches:
            await raise_quiet(care, watch, jc.now)
        return len(watches)

    async def unvisited(store: Store, tell: Tell) -> int:
        care = _care(jc, store)
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
