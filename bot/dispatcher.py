"""From an inbound message to the replies: dedup, rate limit, context, router, one transaction.

The order is deliberate. Dedup comes first so a platform's retry never costs a database
transaction or a rate-limit token; the rate limit comes before any database work so a flood
is cheap. A handler that uses the database shares its transaction with the inbound log row,
so a message is either handled and logged, or neither (and then its retry may be handled).
A handler that does not (help, a refusal, most questions) has its log row group-committed
with others; either way the reply leaves only after the row is committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from sqlalchemy.exc import IntegrityError

from bot.channels.render import as_markdown
from bot.clock import Clock
from bot.config import BotSettings
from bot.context import Context, Conversation, State
from bot.directory import Directory, Sender
from bot.i18n import Translations
from bot.media import Links, Photos
from bot.message import InboundMessage, Reply, ReplyKind
from bot.metrics import Metrics
from bot.replies import Outcome, Replies
from bot.router import CANCEL_WORDS, HandlerResult, Match, Router
from bot.store import KeyValue
from storage.db import database_down
from storage.logwriter import InboundLogWriter
from storage.models import InboundResult, Role
from storage.repos import Store, UnitOfWork
from storage.repos.inbound import LogRow, log_row
from understanding import Understanding

log = logging.getLogger(__name__)


def _as_tuple(result: HandlerResult) -> tuple[Reply, ...]:
    if result is None:
        return ()
    if isinstance(result, Reply):
        return (result,)
    return tuple(result)


class Dispatcher:
    def __init__(
        self,
        router: Router,
        uow: UnitOfWork,
        kv: KeyValue,
        clock: Clock,
        settings: BotSettings,
        translations: Translations,
        metrics: Metrics,
        links: Links | None = None,
        photos: Photos | None = None,
        understanding: Understanding | None = None,
    ) -> None:
        self._router = router
        self._uow = uow
        self._kv = kv
        self._clock = clock
        self._settings = settings
        self._translations = translations
        self._metrics = metrics
        self._links = links or Links()
        self._photos = photos
        self._understanding = understanding or Understanding()
        self.directory = Directory(uow, kv, settings.directory_ttl_seconds)
        self.log_writer = InboundLogWriter(uow)
        self.on_push: Callable[[], None] = lambda: None  # the outbox worker's wake-up
        self.replies = Replies(uow, kv, clock, settings, lambda: self.on_push())

    async def feed(self, msg: InboundMessage) -> Outcome:
        key = (msg.channel, msg.msg_id)
        first = await self._kv.set_if_absent(
            self._kv.keys.dedup(*key), "1", self._settings.dedup_ttl_seconds
        )
        if not first:
            outcome = Outcome("duplicate")
        else:
            with self.replies.handling(msg) as future:
                outcome = await self._first_delivery(msg)
                future.set_result(outcome)
        self._metrics.inbound.labels(msg.channel, msg.kind.value, outcome.result).inc()
        return outcome

    async def _first_delivery(self, msg: InboundMessage) -> Outcome:
        limited = await self._rate_limited(msg)
        if limited is not None:
            return limited
        started = time.perf_counter()
        handler_name = "none"
        conversation = Conversation()
        try:
            async with self._uow() as store:
                ctx = await self._context(msg, store, conversation)
                observed: tuple[Reply, ...] = ()
                for observer in self._router.observers():
                    answer = await observer(msg, ctx)
                    observed += (answer,) if answer is not None else ()
                match = self._router.resolve(msg, ctx, answered=bool(observed))
                replies: tuple[Reply, ...] = ()
                if match is not None:
                    handler_name = match.spec.name
                    if match.permitted:
                        result = await match.spec.func(msg, replace(ctx, args=match.args))
                        replies = _as_tuple(result)
                        if conversation.said_here:  # one message in the group, not two
                            replies = (_joined(conversation.said_here),)
                    else:
                        replies = (self._refusal(ctx),)
                replies = observed + self._with_way_out(msg, ctx, replies)
                addressed = match is not None or msg.addressed or bool(observed)
                outcome = InboundResult.HANDLED if addressed else InboundResult.IGNORED
                row = self._row(msg, ctx, handler_name, outcome, replies)
                logged_inline = store.touched
                if logged_inline:
                    store.inbound.add(row)
            if not logged_inline and not await self.log_writer.write(row):
                return await self._logged_elsewhere(msg)
        except IntegrityError:
            return await self._logged_elsewhere(msg)
        except Exception as exc:
            if database_down(exc):  # one line each, not a traceback per message in an outage
                log.error("message %s/%s: the database cannot be reached (%r)", *_ids(msg), exc)
            else:
                log.exception("handler %s failed on message %s/%s", handler_name, *_ids(msg))
            return await self._failed(msg)
        finally:
            self._metrics.handler_seconds.labels(handler_name).observe(
                time.perf_counter() - started
            )
        await self._apply(msg, conversation)
        if self._kv.degraded:
            replies = self._degraded(msg, ctx, match, replies)
        return Outcome("handled", replies)

    def _degraded(
        self,
        msg: InboundMessage,
        ctx: Context,
        match: Match | None,
        replies: tuple[Reply, ...],
    ) -> tuple[Reply, ...]:
        """Handled without the key-value store: a flow's step could not be read or kept. A
        message nothing understood (it may have been a step's answer), or one that starts a
        flow, says so."""
        self._metrics.degraded.labels(msg.channel).inc()
        if not replies or not (match is None or ctx.conversation.new_state is not None):
            return replies  # understood as something whole (a command, a report): no step lost
        last = replies[-1]
        note = ctx.t("degraded.flow_lost")
        return (*replies[:-1], last.model_copy(update={"text": f"{last.text}\n{note}"}))

    async def _logged_elsewhere(self, msg: InboundMessage) -> Outcome:
        # Another instance logged this message first (its dedup key was lost): not ours.
        log.info("message %s/%s already handled elsewhere", *_ids(msg))
        return Outcome("duplicate", await self.replies.of(msg.channel, msg.msg_id, 0))

    async def _rate_limited(self, msg: InboundMessage) -> Outcome | None:
        limit = self._settings.rate_limit_per_minute
        window = int(self._clock.now().timestamp() // 60)
        count = await self._kv.incr(self._kv.keys.rate(msg.channel, msg.sender_id, window), 120)
        if count <= limit:
            return None
        log.warning("rate limit: %s/%s sent %d this minute", msg.channel, msg.sender_id, count)
        replies: tuple[Reply, ...] = ()
        if count == limit + 1:  # one polite warning, then silence until the minute is over
            replies = (Reply.of_text(self._translations.for_locale(None).t("flood.warning")),)
        try:
            await self.log_writer.write(
                self._row(msg, None, "", InboundResult.RATE_LIMITED, replies)
            )
        except Exception:  # the flood is refused all the same; the writer logged why
            log.warning("rate-limited message %s/%s not logged", *_ids(msg))
        return Outcome("rejected", replies)

    async def _context(
        self, msg: InboundMessage, store: Store, conversation: Conversation
    ) -> Context:
        """Who, where and in which state, from the directory and the key-value store: no
        database work here, so a handler that needs none costs no transaction."""
        sender = await self.directory.sender(msg.channel, msg.sender_id)
        person = sender.person
        roles = frozenset({Role.GUEST}) if person is None else _roles(sender)
        chat = await self.directory.chat(msg.channel, msg.chat_id) if msg.is_group else None
        raw_state = await self._kv.get(self._state_key(msg))
        return Context(
            store=store,
            kv=self._kv,
            clock=self._clock,
            settings=self._settings,
            i18n=self._translations.for_locale(person.locale if person else None),
            menu=self._router,
            person=person,
            roles=roles,
            assignments=sender.assignments,
            chat=chat,
            unit=chat.unit if chat is not None else None,
            state=State.loads(raw_state) if raw_state else None,
            conversation=conversation,
            links=self._links,
            photos=self._photos,
            translations=self._translations,
            understanding=self._understanding,
        )

    def _with_way_out(
        self, msg: InboundMessage, ctx: Context, replies: tuple[Reply, ...]
    ) -> tuple[Reply, ...]:
        """The first prompt of a flow in a group says how to leave it: from now on the
        sender's words in the group are taken for the flow without an @mention."""
        started = ctx.conversation.new_state
        if not msg.is_group or started is None or not replies:
            return replies
        if ctx.state is not None and ctx.state.name == started.name:
            return replies  # a later step of the same flow
        last = replies[-1]
        if not self._router.cancellable(started.name) or any(w in last.text for w in CANCEL_WORDS):
            return replies
        hint = ctx.t("flow.way_out")
        return (*replies[:-1], last.model_copy(update={"text": f"{last.text}\n{hint}"}))

    def _refusal(self, ctx: Context) -> Reply:
        key = "refusal.bind_first" if Role.GUEST in ctx.roles else "refusal.not_permitted"
        return ctx.reply(key)

    async def _failed(self, msg: InboundMessage) -> Outcome:
        """Nothing the handler wrote was kept. Log the message with an apology, so that a
        retry gets the same apology rather than a second failure."""
        apology = Reply.of_text(self._translations.for_locale(None).t("error.apology"))
        try:
            await self.log_writer.write(self._row(msg, None, "", InboundResult.ERROR, (apology,)))
        except Exception as exc:
            # Not even the log could be written (database down): forget the dedup key so the
            # platform's retry is handled afresh instead of being dropped.
            log.error("could not log failed message %s/%s: %s", *_ids(msg), type(exc).__name__)
            await self._kv.delete(self._kv.keys.dedup(msg.channel, msg.msg_id))
        return Outcome("error", (apology,))

    def _row(
        self,
        msg: InboundMessage,
        ctx: Context | None,
        handler: str,
        result: InboundResult,
        replies: Sequence[Reply],
    ) -> LogRow:
        return log_row(
            channel=msg.channel,
            msg_id=msg.msg_id,
            chat_id=msg.chat_id,
            sender_id=msg.sender_id,
            person_id=ctx.person.id if ctx and ctx.person else None,
            kind=msg.kind.value,
            text=msg.text,
            handler=handler,
            result=result,
            replies=[r.model_dump(mode="json") for r in replies],
            received_at=msg.time,
            handled_at=self._clock.now(),
        )

    def _state_key(self, msg: InboundMessage) -> str:
        return self._kv.keys.state(msg.channel, msg.chat_id, msg.sender_id)

    async def _apply(self, msg: InboundMessage, conversation: Conversation) -> None:
        if conversation.pushed:
            self.on_push()
        if conversation.sender_changed:
            await self.directory.forget_sender(msg.channel, msg.sender_id)
        if conversation.new_state is not None:
            await self._kv.set(
                self._state_key(msg),
                conversation.new_state.dumps(),
                self._settings.state_ttl_seconds,
            )
        elif conversation.clear:
            await self._kv.delete(self._state_key(msg))


def _roles(sender: Sender) -> frozenset[Role]:
    """A bound person's roles: villager, those assigned, and those the elder-care lists give
    (an elder; a caretaker or family of one)."""
    assert sender.person is not None
    derived = {Role.ELDER} if sender.person.is_elder else set()
    derived |= {Role(r) for r in sender.cares_as}
    return frozenset({Role.VILLAGER, *derived, *(a.role for a in sender.assignments)})


def _joined(replies: Sequence[Reply]) -> Reply:
    """Several replies as one message: markdown if any of them is (a text's words then
    shown as written, none of them read as markup)."""
    if len(replies) == 1:
        return replies[0]
    mentions = tuple(dict.fromkeys(m for r in replies for m in r.mentions))
    if any(r.kind is ReplyKind.MARKDOWN for r in replies):
        text = "\n\n".join(as_markdown(r) for r in replies)
        kind = ReplyKind.MARKDOWN
    else:
        text, kind = "\n\n".join(r.text for r in replies), replies[0].kind
    return replies[0].model_copy(update={"text": text, "kind": kind, "mentions": mentions})


def _ids(msg: InboundMessage) -> tuple[str, str]:
    return msg.channel, msg.msg_id
