"""The verbs that serve: `serve` (the configured bot) and `demo` (embedded defaults, the
demo registry and the simulator). An exposed simulator or a port in use is refused before
anything is done."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from pathlib import Path

from bot.access import check_exposure
from bot.cli import Refusal
from bot.cli.database import (
    check_schema,
    demo_settings,
    engine_of,
    init_db,
    print_summary,
)
from bot.clock import SystemClock
from bot.config import ServerSettings, Settings, SimChannelSettings

DEMO_FILE = Path(__file__).resolve().parent.parent.parent / "examples" / "demo.yaml"


def serve(settings: Settings, *, demo: bool = False) -> None:
    check_exposure(settings)
    if demo:
        settings = demo_settings(settings)
    asyncio.run(_check(settings))
    require_free_port(settings.server, "serve")
    require_free_metrics_port(settings.server)
    _listen(settings)


async def _check(settings: Settings) -> None:
    async with engine_of(settings) as engine:
        await check_schema(settings, engine)


def demo(settings: Settings, port: int | None, host: str | None = None) -> None:
    settings = _demo_defaults(demo_settings(settings), port, host)
    check_exposure(settings)
    require_free_port(settings.server, "demo")
    require_free_metrics_port(settings.server)
    asyncio.run(_prepare_demo(settings))
    url = f"{settings.server.public_url}/sim"
    _listen(settings, banner=f"villagebot demo is running: open {url} (Ctrl+C stops it)")


def _demo_defaults(settings: Settings, port: int | None, host: str | None = None) -> Settings:
    """The simulator, the address asked for, and links to photos that open from the chat.
    One port only unless [server] metrics_port is set: demos side by side never collide."""
    updates: dict[str, object] = {}
    if not any(isinstance(c, SimChannelSettings) for c in settings.channels):
        updates["channels"] = [*settings.channels, SimChannelSettings(type="sim")]
    server = settings.server
    if port is not None:
        server = server.model_copy(update={"port": port})
    if host is not None:
        server = server.model_copy(update={"host": host})
    if "metrics_port" not in server.model_fields_set:
        server = server.model_copy(update={"metrics_port": 0})
    if not server.public_url:
        server = server.model_copy(update={"public_url": own_url(server)})
    updates["server"] = server
    return settings.model_copy(update=updates)


def own_url(server: ServerSettings) -> str:
    """Where this machine reaches the server: a wildcard host is reached on 127.0.0.1."""
    host = server.host if server.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{server.port}"


def require_free_port(server: ServerSettings, verb: str) -> None:
    """Refuse at once, before migrating or importing, when the port is taken."""
    try:
        infos = socket.getaddrinfo(server.host or None, server.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Refusal(f"cannot listen on [server] host {server.host!r}: {exc}") from exc
    family, _, _, _, address = infos[0]
    try:
        # as the server binds (SO_REUSEADDR): only a socket that listens there is in the way
        socket.create_server(address[:2], family=family).close()
    except OSError as exc:
        raise Refusal(_port_taken(server, verb, exc)) from exc


def require_free_metrics_port(server: ServerSettings) -> None:
    if not server.metrics_port:
        return
    try:
        socket.create_server(("127.0.0.1", server.metrics_port)).close()
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise Refusal(
            f"cannot listen on 127.0.0.1:{server.metrics_port} for /metrics ({why}): "
            "set [server] metrics_port to a free port, or 0 for none"
        ) from exc


def _port_taken(server: ServerSettings, verb: str, exc: OSError) -> str:
    if exc.errno != errno.EADDRINUSE:
        return f"cannot listen on {server.host}:{server.port}: {exc.strerror}"
    other = server.port + 1 if server.port < 65535 else 8081
    hint = f"--port {other}" if verb == "demo" else f"[server] port = {other}"
    return (
        f"port {server.port} ({server.host}) is in use by another program: stop it, "
        f"or choose another port, e.g. `{hint}`"
    )


async def _prepare_demo(settings: Settings) -> None:
    from bot.channels.sim import enroll_registry
    from storage.db import session_factory
    from storage.importer import import_registry, read_registry
    from storage.repos import unit_of_work

    await init_db(settings)
    registry = read_registry(DEMO_FILE)
    async with engine_of(settings) as engine:
        uow = unit_of_work(session_factory(engine))
        summary = await import_registry(uow, registry, SystemClock().now())
        for channel in settings.channels:
            if isinstance(channel, SimChannelSettings):
                await enroll_registry(uow, channel.name, SystemClock().now())
    print_summary(DEMO_FILE, summary)


def _listen(settings: Settings, banner: str = "") -> None:
    from aiohttp import web

    from bot.app import create_app, open_metrics_port

    app = create_app(settings)
    if settings.server.metrics_port:
        open_metrics_port(app)
    url = f"http://{settings.server.host}:{settings.server.port}"
    try:
        web.run_app(
            app,
            host=settings.server.host,
            port=settings.server.port,
            print=lambda _: print(banner or f"villagebot listening on {url}", flush=True),  # noqa: T201
            access_log=None,
        )
    except OSError as exc:  # taken between the check and now
        raise Refusal(_port_taken(settings.server, "demo" if banner else "serve", exc)) from exc
