"""Webhook throughput: signed WeChat text messages through the real HTTP server.

The server under test runs in its own process (multiprocessing, 'spawn'); this process
drives N messages at it over loopback with C keep-alive connections and reports messages/s
and p50/p99 latency next to a bare aiohttp handler answering "success" (the ceiling for
this stack on this machine). Every response is checked: a run with failures exits 1.

    .venv/bin/python bench/webhook.py --mode all --messages 5000 --concurrency 50
    .venv/bin/python bench/webhook.py --mode plain --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import logging
import math
import multiprocessing as mp
import os
import platform
import pstats
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import xmltodict
from aiohttp import ClientError, ClientSession, TCPConnector, web
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from wechatpy.crypto import WeChatCrypto
from yarl import URL

from bot.app import create_app
from bot.config import DatabaseSettings, MediaSettings, RedisSettings, Settings
from bot.config import WeChatChannelSettings as WeChat
from bot.i18n import Translations
from storage.db import create_engine
from storage.migrate import upgrade_to_head

TOKEN, APP_ID, OA_ID = "benchtoken", "wxbench0123456789", "gh_bench"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "villagebot_bench"
PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/0"
MODES = ("plain", "aes", "pg")
ROOT = Path(__file__).resolve().parent.parent
# The help menu a guest (an openid bound to nobody) gets: what every reply must contain.
GUEST_TITLE = Translations("zh_CN").for_locale(None).t("help.title.guest")


# --- the server process -----------------------------------------------------------------


def bare_app() -> web.Application:
    async def callback(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="success")

    app = web.Application()
    app.router.add_post("/callback/{channel}", callback)
    return app


async def _serve(settings: Settings | None, ready: Connection, profile: str | None) -> None:
    app = bare_app() if settings is None else create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()  # port 0: the OS picks a free one
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:  # the client sends SIGUSR1 once the warm-up is over
        loop.add_signal_handler(signal.SIGUSR1, profiler.enable)
    ready.send(runner.addresses[0][1])
    await stop.wait()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)  # type: ignore[arg-type]
    await runner.cleanup()


def serve(settings: Settings | None, ready: Connection, profile: str | None) -> None:
    """Entry point of the server process: `settings` None is the bare handler. Ctrl-C is
    for the load generator, which then stops this process with SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="server %(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(settings, ready, profile))


@contextmanager
def server(settings: Settings | None, profile: Path | None = None) -> Iterator[tuple[int, int]]:
    """Start a server process; yield its (port, pid); SIGTERM it and join on the way out."""
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=serve, args=(settings, send, str(profile) if profile else None))
    proc.start()
    send.close()
    try:
        if not receive.poll(60):
            raise SystemExit("the server process did not start within 60 s")
        try:
            port: int = receive.recv()
        except EOFError:
            raise SystemExit("the server process died while starting (see above)") from None
        assert proc.pid is not None
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.join(30)
        if proc.is_alive():
            print("server process ignored SIGTERM for 30 s: killed")
            proc.kill()
            proc.join()


# --- databases and stores ---------------------------------------------------------------


async def prepare_database(mode: str, workdir: Path) -> str:
    """plain/aes: a fresh SQLite file; pg: the bench database (created if missing) emptied.
    Either is then migrated to head."""
    url = PG_URL if mode == "pg" else f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    if mode == "pg":
        admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                query = text("SELECT 1 FROM pg_database WHERE datname = :n")
                if not await conn.scalar(query, {"n": PG_DATABASE}):
                    await conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
        finally:
            await admin.dispose()
    engine = create_engine(url)
    try:
        if mode == "pg":
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    return url


async def forget_prefix(prefix: str) -> None:
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


# --- the load generator -----------------------------------------------------------------


Request = tuple[URL, bytes]  # a signed URL (query included) and the body
Response = tuple[int, str]  # status and body, or -1 and the client error


def build_requests(
    port: int, aes: bool, n: int, first_id: int, tag: str, per: int
) -> list[Request]:
    """n signed callbacks (encrypted too when `aes`), `per` messages per sender at most."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID) if aes else None
    base = URL(f"http://127.0.0.1:{port}/callback/oa")
    ts = str(int(time.time()))  # the server allows 5 minutes of skew
    senders = math.ceil(n / per)
    requests: list[Request] = []
    for i in range(n):
        openid, nonce = f"o{tag}{i % senders:06d}", f"{first_id + i:012d}"
        body = (
            f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{ts}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[帮助]]></Content>"
            f"<MsgId>{first_id + i}</MsgId></xml>"
        )
        signature = hashlib.sha1("".join(sorted([TOKEN, ts, nonce])).encode()).hexdigest()
        query = {"signature": signature, "timestamp": ts, "nonce": nonce, "openid": openid}
        if crypto is not None:
            envelope = xmltodict.parse(crypto.encrypt_message(body, nonce, ts))["xml"]
            body = (
                f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName>"
                f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
            )
            query |= {"encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}
        requests.append((base.with_query(query), body.encode()))
    return requests


async def _send(
    session: ClientSession, requests: list[Request], concurrency: int
) -> list[tuple[float, Response]]:
    pending = iter(requests)  # shared by the workers: each takes the next request
    done: list[tuple[float, Response]] = []
    headers = {"Content-Type": "text/xml"}

    async def worker() -> None:
        for url, body in pending:
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    response = (resp.status, await resp.text())
            except (ClientError, TimeoutError) as exc:
                response = (-1, repr(exc))
            done.append((time.perf_counter() - started, response))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def drive(
    warmup: list[Request], timed: list[Request], concurrency: int, profiled_pid: int | None
) -> tuple[float, list[tuple[float, Response]], list[tuple[float, Response]]]:
    async with ClientSession(connector=TCPConnector(limit=concurrency)) as session:
        warm = await _send(session, warmup, concurrency)
        if profiled_pid is not None:
            os.kill(profiled_pid, signal.SIGUSR1)
            await asyncio.sleep(0.1)
        started = time.perf_counter()
        done = await _send(session, timed, concurrency)
        return time.perf_counter() - started, warm, done


def problem(mode: str, response: Response) -> str:
    """What is wrong with a response ("" when it is the expected one)."""
    status, body = response
    if status == 200 and mode == "aes" and "<Encrypt>" in body:
        envelope = xmltodict.parse(body)["xml"]
        try:
            body = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
                body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
        except Exception as exc:
            return f"cannot decrypt the reply ({exc!r}): {body[:200]!r}"
    if status != 200:
        wrong = f"HTTP {status}"
    elif mode == "bare":
        wrong = "" if body == "success" else "not 'success'"
    elif "<Content>" not in body:
        wrong = "no reply XML"
    else:
        wrong = "" if GUEST_TITLE in body else "not the help menu"
    return wrong and f"{wrong}: {body[:200]!r}"


# --- runs and the report ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    mode: str
    messages: int
    rate: float
    p50_ms: float
    p99_ms: float
    failures: list[str]
    profile: str = ""


def bot_settings(mode: str, db: str, workdir: Path, prefix: str) -> Settings:
    aes_key = AES_KEY if mode == "aes" else ""
    oa = WeChat(type="wechat", name="oa", token=TOKEN, app_id=APP_ID, encoding_aes_key=aes_key)
    redis = RedisSettings(url=REDIS_URL if mode == "pg" else "", prefix=prefix)
    media = MediaSettings(dir=workdir / "media")
    return Settings(database=DatabaseSettings(url=db), redis=redis, media=media, channels=[oa])


def run(mode: str, args: argparse.Namespace, per_sender: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="vbbench-") as tmp:
        workdir, prefix = Path(tmp), f"vbbench:{uuid.uuid4().hex[:12]}"
        settings = None
        if mode != "bare":
            db = asyncio.run(prepare_database(mode, workdir))
            settings = bot_settings(mode, db, workdir, prefix)
        profile = workdir / "server.prof" if args.profile and settings else None
        try:
            with server(settings, profile) as (port, pid):
                aes = mode == "aes"
                if args.known_senders:  # one earlier message from each sender of the run
                    senders = math.ceil(args.messages / per_sender)
                    warmup = build_requests(port, aes, senders, 1, "BENCH", 1)
                else:
                    warmup = build_requests(port, aes, args.warmup, 1, "WARM", per_sender)
                timed = build_requests(port, aes, args.messages, 10**9, "BENCH", per_sender)
                to_profile = pid if profile else None
                seconds, warm, done = asyncio.run(
                    drive(warmup, timed, args.concurrency, to_profile)
                )
        finally:
            if mode == "pg":
                asyncio.run(forget_prefix(prefix))
        failures = [f"{mode} warm-up: {p}" for _, r in warm if (p := problem(mode, r))]
        failures += [f"{mode}: {p}" for _, r in done if (p := problem(mode, r))]
        cuts = statistics.quantiles([lat * 1000 for lat, _ in done], n=100, method="inclusive")
        report = profile_report(profile) if profile and profile.exists() else ""
        return Result(mode, len(done), len(done) / seconds, cuts[49], cuts[98], failures, report)


def profile_report(path: Path, count: int = 25) -> str:
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in stats.values())
    owners: Counter[str] = Counter()
    for (file, _, name), (_, _, tt, _, _) in stats.items():
        owners[owner(file, name)] += tt
    lines = [f"own time of the event-loop thread, {total:.2f} s in all, by package:"]
    lines += [
        f"{tt:8.2f} s {100 * tt / total:5.1f} %  {who}" for who, tt in owners.most_common(12)
    ]
    heading = f"{'calls':>9} {'tottime':>8} {'cumtime':>8}  function"
    for order, col, n in (("cumulative", 3, count), ("own (tottime)", 2, 15)):
        lines += ["", f"top {n} functions by {order} time:", heading]
        rows = sorted(stats.items(), key=lambda kv: kv[1][col], reverse=True)[:n]
        for (file, line, name), (_, calls, tt, ct, _) in rows:
            where = name if file == "~" else f"{short(file)}:{line}({name})"
            lines.append(f"{calls:>9} {tt:>8.3f} {ct:>8.3f}  {where}")
        if order == "cumulative":
            lines.append(
                "(cProfile loses track when a coroutine or one of SQLAlchemy's greenlets is "
                "suspended, so cumtime above\n counts waiting, many times over: it shows the "
                "call path; the own times are where the CPU goes)"
            )
    return "\n".join(lines)


def short(file: str) -> str:
    for marker in ("site-packages/", f"{ROOT}/", "/lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def owner(file: str, name: str) -> str:
    """Who a function belongs to: a package, a project module, a stdlib module or a C call."""
    if file == "~":
        return "idle (waiting in epoll)" if "select.epoll" in name else f"C {name}"
    if "site-packages/" in file:
        return short(file).split("/")[0].removesuffix(".py")
    if file.startswith(f"{ROOT}/"):
        return short(file)
    return "stdlib " + short(file).split("/")[0].removesuffix(".py")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--mode", choices=[*MODES, "all"], default="all")
    parser.add_argument("--messages", type=int, default=5000, metavar="N")
    parser.add_argument("--concurrency", type=int, default=50, metavar="C")
    parser.add_argument("--warmup", type=int, default=200, metavar="N")
    parser.add_argument("--profile", action="store_true", help="run the bot under cProfile")
    parser.add_argument(
        "--known-senders",
        action="store_true",
        help="warm up with one message from every sender of the timed run (returning "
        "villagers) instead of strangers, so no timed message is a first contact",
    )
    args = parser.parse_args()
    limit = Settings().bot.rate_limit_per_minute  # what the server will read, env included
    per_sender = max(1, min(10, limit // 2))
    senders = math.ceil(args.messages / per_sender)
    machine = f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}"
    print(f"machine: {machine}")
    print("  (the load generator and the server under test are two processes sharing them)")
    print(f"load: text 帮助 from {senders} openids, ≤{per_sender} messages each, so the bot's")
    print(f"  rate limit ({limit}/min per sender, left on) is never reached;")
    if args.known_senders:
        print("  every sender wrote once during the warm-up (returning villagers)")
    else:
        print(f"  each sender's first message (1 in {per_sender}) is a first contact")
    modes = ("bare", *(MODES if args.mode == "all" else [args.mode]))
    results = [run(mode, args, per_sender) for mode in modes]
    row = "{:<6} {:>8} {:>5} {:>9} {:>8} {:>8} {:>6}{}"
    print("\n" + row.format("mode", "messages", "conc", "msgs/s", "p50 ms", "p99 ms", "÷bare", ""))
    for r in results:
        rate, p50, p99 = f"{r.rate:.1f}", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}"
        ratio = f"{r.rate / results[0].rate:.2f}"
        flag = "  (server under cProfile)" if r.profile else ""
        print(row.format(r.mode, r.messages, args.concurrency, rate, p50, p99, ratio, flag))
    for r in results:
        if r.profile:
            print(f"\n=== server profile, mode {r.mode}: the timed run, event-loop thread ===")
            print(r.profile)
    failures = [f for r in results for f in r.failures]
    if failures:
        print(f"\n!!! FAILED: {len(failures)} wrong responses; these numbers are NOT valid !!!")
        print("\n".join("  " + f for f in failures[:20]))
        if len(failures) > 20:
            print(f"  … and {len(failures) - 20} more")
        return 1
    print("\nall responses: HTTP 200 with the help menu as reply XML")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the server processes were stopped on the way out
        sys.exit(130)
