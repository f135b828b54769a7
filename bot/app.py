"""The application factory: builds every part from the settings and owns their lifetimes."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.access import bearer_matches, check_exposure, security_headers, unauthorized
from bot.channels.base import Background, Channel, ChannelDeps
from bot.channels.dingtalk import DingTalkChannel
from bot.channels.sim import SimChannel
from bot.channels.wechat import WeChatChannel
from bot.channels.wecom import WeComChannel
from bot.channels.wecom_smart import WeComBotChannel
from bot.clock import Clock, SystemClock
from bot.config import (
    ConfigError,
    DingTalkChannelSettings,
    Settings,
    SimChannelSettings,
    WeChatChannelSettings,
    WeComBotChannelSettings,
    WeComChannelSettings,
)
from bot.dispatcher import Dispatcher
from bot.http import Http
from bot.i18n import Translations
from bot.media import Downloader, Links, MediaStore, Photos, serve
from bot.metrics import Metrics
from bot.outbox import OutboxWorker, Sender
from bot.store import Keys, KeyValue, MemoryStore, RedisStore
from bot.store_guard import GuardedStore
from bot.tasks import TaskSet
from handlers import build_router
from scheduler.runner import Scheduler
from storage.db import WalCheckpointer, create_engine, session_factory
from storage.repos import UnitOfWork, unit_of_work
from understanding import Understanding

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    uow: UnitOfWork
    kv: KeyValue
    metrics: Metrics
    dispatcher: Dispatcher
    tasks: TaskSet
    media: MediaStore
    channels: dict[str, Channel]
    outbox: OutboxWorker
    http: Http
    scheduler: Scheduler
    understanding: Understanding


SERVICES = web.AppKey("services", Services)


def build_kv(settings: Settings, clock: Clock) -> KeyValue:
    keys = Keys(settings.redis.prefix)
    if settings.redis.url:
        return GuardedStore(RedisStore(settings.redis.url, keys))
    return MemoryStore(clock, keys)


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    engine = create_engine(settings.database.url)
    uow = unit_of_work(session_factory(engine))
    kv = build_kv(settings, clock)
    metrics = Metrics()
    tasks = TaskSet()
    translations = Translations(settings.bot.locale)
    links = Links(settings.server.public_url)
    media = MediaStore(settings.media.dir, settings.media.max_bytes)
    photos = Photos(media)
    understanding = Understanding(cache_dir=settings.cache_dir)
    dispatcher = Dispatcher(
        build_router(),
        uow,
        kv,
        clock,
        settings.bot,
        translations,
        metrics,
        links,
        photos,
        understanding,
    )
    deps = ChannelDeps(dispatcher=dispatcher, tasks=tasks, clock=clock, metrics=metrics)
    channels: dict[str, Channel] = {}
    senders: dict[str, Sender] = {}
    http = Http()
    deadline = settings.bot.reply_deadline_seconds
    for cfg in settings.channels:
        if isinstance(cfg, WeChatChannelSettings):
            oa = WeChatChannel(cfg, deps, deadline, kv, http)
            channels[cfg.name] = senders[cfg.name] = oa
        elif isinstance(cfg, DingTalkChannelSettings):
            ding = DingTalkChannel(cfg, deps, deadline, uow, http, kv)
            channels[cfg.name] = senders[cfg.name] = ding
        elif isinstance(cfg, WeComChannelSettings):
            wecom = WeComChannel(cfg, deps, deadline, uow, http, kv, media)
            channels[cfg.name] = senders[cfg.name] = wecom
        elif isinstance(cfg, WeComBotChannelSettings):
            bot = WeComBotChannel(cfg, deps, deadline, uow, http, media, kv)
            channels[cfg.name] = senders[cfg.name] = bot
        elif isinstance(cfg, SimChannelSettings):
            real = any(not isinstance(c, SimChannelSettings) for c in settings.channels)
            sim = SimChannel(cfg.name, deps, uow, media, settings.sim, real, media.max_bytes)
            channels[cfg.name] = senders[cfg.name] = sim
    photos.downloaders.update((n, c) for n, c in channels.items() if isinstance(c, Downloader))
    outbox = OutboxWorker(uow, kv, clock, senders, settings.outbox, translations, metrics)
    dispatcher.on_push = outbox.wake
    scheduler = Scheduler(uow, settings, translations, clock, kv, outbox.wake)
    return Services(
        settings,
        clock,
        engine,
        uow,
        kv,
        metrics,
        dispatcher,
        tasks,
        media,
        channels,
        outbox,
        http,
        scheduler,
        understanding,
    )


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    check_exposure(settings)  # whatever starts the app: no simulator open to the network
    services = build_services(settings, clock)
    app = web.Application(client_max_size=settings.server.max_body_bytes)
    app[SERVICES] = services
    app.cleanup_ctx.append(_lifetime)
    app.on_response_prepare.append(security_headers)
    app.router.add_route("GET", "/callback/{channel}", _callback)
    app.router.add_route("POST", "/callback/{channel}", _callback)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/media/{name}", _media)
    for channel in services.channels.values():
        if isinstance(channel, SimChannel):
            app.router.add_routes(channel.routes())
    return app


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    checkpointer = WalCheckpointer(services.settings.database.url)
    checkpointer.start()
    # What startup loaded (SQLAlchemy's, wechatpy's and our own modules and tables) lives as
    # long as the process: keep it out of the cyclic collector's full scans, which otherwise
    # pause every message in flight for tens of milliseconds.
    gc.freeze()
    if services.settings.outbox.enabled:
        services.outbox.start()
    background = [c for c in services.channels.values() if isinstance(c, Background)]
    for channel in background:
        channel.start()
    # The category words, as the admins left them: read now, built in a thread while the
    # server starts listening (jieba's dictionary takes seconds); a message that needs them
    # waits for them.
    # the model trains and the words load in a thread: the server listens meanwhile
    await services.understanding.load(services.uow)
    words = asyncio.create_task(services.understanding.keep_fresh(services.uow), name="words")
    if services.settings.scheduler.enabled:
        services.scheduler.start()
    yield
    words.cancel()
    await services.scheduler.stop()
    for channel in background:
        await channel.stop()
    # Handlers still running finish their transactions (and queue their pushes) first; then
    # the outbox finishes its pass; only then do the pools close.
    await services.tasks.drain()
    await services.dispatcher.log_writer.close()
    await services.outbox.stop()
    await services.http.close()
    await checkpointer.stop()
    await services.kv.close()
    await services.engine.dispose()


async def _callback(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    channel = services.channels.get(request.match_info["channel"])
    if channel is None:
        raise web.HTTPNotFound(text="no such channel")
    return await channel.callback(request)


async def _healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    failing = []
    try:
        async with asyncio.timeout(2), services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        log.exception("health check: database does not answer")
        failing.append("database")
    try:
        await services.kv.ping()
    except Exception:
        log.exception("health check: key-value store does not answer")
        failing.append("redis" if services.settings.redis.url else "store")
    if failing:
        # Without Redis the bot still answers (bot/store_guard.py): degraded, not down.
        status = "degraded" if "database" not in failing else "unavailable"
        return web.json_response({"status": status, "failing": failing}, status=503)
    return web.json_response({"status": "ok"})


async def _media(request: web.Request) -> web.StreamResponse:
    return await serve(request.app[SERVICES].media, request.match_info["name"])


async def _metrics(request: web.Request) -> web.Response:
    """On the main port, which the platforms and phones reach: for the admin token only."""
    services = request.app[SERVICES]
    if not bearer_matches(request, services.settings.admin.token):
        return unauthorized(request, "/metrics", "[admin] token")
    return _exposition(services.metrics)


def _exposition(metrics: Metrics) -> web.Response:
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def open_metrics_port(app: web.Application) -> None:
    """Serve /metrics, and nothing else, on 127.0.0.1:[server] metrics_port while the app
    runs: Prometheus on this machine scrapes it with no token, nobody else reaches it. Not
    part of create_app, so that tests and the demo open no second port unless asked."""
    app.cleanup_ctx.append(_metrics_port)


async def _metrics_port(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    port = services.settings.server.metrics_port

    async def exposition(request: web.Request) -> web.Response:
        return _exposition(services.metrics)

    scrape = web.Application()
    scrape.router.add_get("/metrics", exposition)
    scrape.on_response_prepare.append(security_headers)
    runner = web.AppRunner(scrape, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            f"cannot listen on 127.0.0.1:{port} ([server] metrics_port): {exc.strerror}"
        ) from exc
    log.info("metrics on http://127.0.0.1:%d/metrics", port)
    yield
    await runner.cleanup()
