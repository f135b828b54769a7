"""Guesses at one person, from any number of accounts: counted per person, and past a few a
right answer no longer binds by itself. It becomes a numbered request that the person's
village cadre groups are told of through the outbox, and that one of the village's cadres
approves or refuses (review.py).

A request lives in the key-value store with an expiry, not in the database: losing one
costs the villager a second try, nothing more."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from bot.context import Context
from bot.message import InboundMessage
from bot.store import KeyValue
from handlers.tell import Tell
from storage.models import Person

log = logging.getLogger(__name__)

# Failed guesses at one person, from all accounts together, before a right answer waits for
# the village. The window is a day, not an hour: a guesser who keeps under the limit gets
# this many tries per window, and a villager's own slips seldom come to five in a day.
TARGET_MAX_FAILURES = 5
TARGET_WINDOW_SECONDS = 24 * 3600
REQUEST_TTL_SECONDS = 3 * 24 * 3600  # how long a request waits for the cadres
# Numbers start again from 1 when this runs out, long after the requests of the old count
# have expired (a number still taken is skipped).
_SEQUENCE_TTL_SECONDS = 30 * 24 * 3600
PURPOSE = "binding"


@dataclass(frozen=True, slots=True)
class BindRequest:
    """An account that answered right for a guarded person, waiting for the village."""

    number: int
    person_id: int
    village_id: int
    channel: str
    sender_id: str

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def loads(cls, raw: str) -> BindRequest:
        data: dict[str, Any] = json.loads(raw)
        return cls(
            number=int(data["number"]),
            person_id=int(data["person_id"]),
            village_id=int(data["village_id"]),
            channel=str(data["channel"]),
            sender_id=str(data["sender_id"]),
        )


async def failures_at(kv: KeyValue, people: Sequence[Person]) -> int:
    """The most failed guesses at any of these people (all of one name) in the window."""
    counts = [await kv.get(kv.keys.bind_target_failures(p.id)) for p in people]
    return max((int(c) for c in counts if c is not None), default=0)


async def record_failure(kv: KeyValue, msg: InboundMessage, people: Sequence[Person]) -> None:
    """A wrong guess at a name counts against everyone of that name: with the digits wrong,
    whom it was meant for cannot be told, and a guesser must not get to choose. The log
    names the account and the people, never the digits guessed."""
    for person in people:
        count = await kv.incr(kv.keys.bind_target_failures(person.id), TARGET_WINDOW_SECONDS)
        if count == TARGET_MAX_FAILURES:
            log.warning(
                "binding person %d now waits for the village: %d failures", person.id, count
            )
    targets = ",".join(str(p.id) for p in people) or "nobody"
    log.info("binding failed: %s/%s guessed at person %s", msg.channel, msg.sender_id, targets)


async def ask_village(ctx: Context, msg: InboundMessage, person: Person, failures: int) -> None:
    """The account answered right for a guarded person: a numbered request, and the
    village's cadre groups told whom it is for, from which account, after how many failed
    guesses. Once per account and person while the request waits."""
    kv = ctx.kv
    if await _waiting(kv, msg, person) is not None:
        return
    if person.village_id is None:
        log.warning("binding person %d is held, but no village can confirm it", person.id)
        return
    request = await _open(
        kv, BindRequest(0, person.id, person.village_id, msg.channel, msg.sender_id)
    )
    key = kv.keys.bind_request_from(msg.channel, msg.sender_id)
    await kv.set(key, str(request.number), REQUEST_TTL_SECONDS)
    # Not Tell.of(ctx): a guess sent in a cadre group would get the notice as its answer.
    tell = Tell(ctx.store, ctx.t_for, ctx.push)
    if msg.sender_name:
        account = tell.text(None, "bind.account_named", name=msg.sender_name, id=msg.sender_id)
    else:
        account = msg.sender_id
    await tell.groups(
        request.village_id,
        "bind.review_group",
        purpose=PURPOSE,
        number=request.number,
        name=person.name,
        phone=person.phone_masked or "-",
        channel=msg.channel,
        account=account,
        failures=failures,
    )
    log.warning(
        "binding request %d: %s/%s as person %d, after %d failures",
        request.number,
        msg.channel,
        msg.sender_id,
        person.id,
        failures,
    )


async def load(kv: KeyValue, number: int) -> BindRequest | None:
    raw = await kv.get(kv.keys.bind_request(number))
    return BindRequest.loads(raw) if raw is not None else None


async def close(kv: KeyValue, request: BindRequest) -> None:
    """The request is decided (or moot): its number answers no more."""
    await kv.delete(kv.keys.bind_request(request.number))
    key = kv.keys.bind_request_from(request.channel, request.sender_id)
    if await kv.get(key) == str(request.number):  # not a later request of the account's
        await kv.delete(key)


async def _waiting(kv: KeyValue, msg: InboundMessage, person: Person) -> BindRequest | None:
    """The account's request for this person that still waits, if any."""
    number = await kv.get(kv.keys.bind_request_from(msg.channel, msg.sender_id))
    request = await load(kv, int(number)) if number is not None else None
    return request if request is not None and request.person_id == person.id else None


async def _open(kv: KeyValue, request: BindRequest) -> BindRequest:
    """Number and store the request. The store is written before the transaction commits:
    should that fail, the request waits unannounced until it expires, which harms nobody."""
    for _ in range(10):
        number = await kv.incr(kv.keys.bind_request_sequence(), _SEQUENCE_TTL_SECONDS)
        numbered = replace(request, number=number)
        key = kv.keys.bind_request(number)
        if await kv.set_if_absent(key, numbered.dumps(), REQUEST_TTL_SECONDS):
            return numbered
    raise RuntimeError("no free binding request number")
