"""Who may reach what over HTTP: the refusals at start, bearer tokens, security headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import re

from aiohttp import web

from bot.config import MAKE_A_TOKEN, ConfigError, Settings, SimChannelSettings

log = logging.getLogger(__name__)

# Every response is data, never a document that may run or embed anything; a page that
# needs more (the simulator's) sends its own policy.
DEFAULT_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, or "" (every interface)
        return False


def check_exposure(settings: Settings) -> None:
    """Refuse, in one line, an instance whose simulator could be used by anyone who reaches
    it, or could push through real platform channels (a cadre's notice posted as a test)."""
    if not any(isinstance(c, SimChannelSettings) for c in settings.channels):
        return
    real = [c.name for c in settings.channels if not isinstance(c, SimChannelSettings)]
    if real and not settings.sim.allow_real_pushes:
        raise ConfigError(
            f"a sim channel beside real channels ({', '.join(real)}) would let whoever uses "
            "the simulator push through their robots: remove the sim channel, or set "
            "[sim] allow_real_pushes = true"
        )
    host = settings.server.host
    if not settings.sim.token and not is_loopback(host):
        raise ConfigError(
            f"[server] host is {host!r}, not loopback, and the simulator lets whoever reaches "
            f"it post as anyone: set [sim] token (or VILLAGEBOT_SIM__TOKEN; make one with "
            f"{MAKE_A_TOKEN}), or listen on 127.0.0.1"
        )


def bearer_matches(request: web.Request, token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>`; never for an empty token.
    Compared in constant time, so the answer's timing tells nothing about the token."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def unauthorized(request: web.Request, what: str, setting: str) -> web.Response:
    """401 with a short JSON error, and one log line saying who was refused what."""
    has = "Authorization" in request.headers
    log.warning(
        "%s refused for %s %s from %s: %s",
        what,
        request.method,
        request.path,
        request.remote,
        "wrong token" if has else "no token",
    )
    return web.json_response(
        {"error": "unauthorized", "detail": f"send Authorization: Bearer <{setting}>"},
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="villagebot"'},
    )


def inline_policy(html: str) -> str:
    """The policy of a self-contained page: exactly its own inline scripts and styles (by
    their SHA-256), pictures from this server or data: URLs, calls to this server only."""
    sources: dict[str, list[str]] = {"script": [], "style": []}
    for tag, body in _INLINE.findall(_COMMENT.sub("", html)):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        sources[tag].append(f"'sha256-{digest}'")
    scripts, styles = (" ".join(sources[tag]) or "'none'" for tag in ("script", "style"))
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {scripts}",
            f"style-src {styles}",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response (pages, photos, JSON, callbacks, errors): browsers take the type
    as sent, and nothing runs or embeds unless its own policy says so."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Content-Security-Policy", DEFAULT_POLICY)
    response.headers.setdefault("Referrer-Policy", "no-referrer")
