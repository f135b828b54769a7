"""Photos on disk, content-addressed by SHA-256 and type-checked by their bytes."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from aiohttp import ClientError, web

from bot.message import InboundMessage, MediaRef
from bot.outbox import SendError

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024

# (magic bytes at offset, offset, extension)
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
)
EXTENSIONS = ("jpg", "png", "webp", "heic")  # every type image_type() names
# What save_image() names a file: its SHA-256 in lower-case hex and its type. Anything else
# is no stored photo, and is refused before the file system is asked (a name of 255 bytes
# or more would make it raise ENAMETOOLONG).
_NAME = re.compile(rf"[0-9a-f]{{64}}\.(?:{'|'.join(EXTENSIONS)})")


class MediaError(ValueError):
    """A file we will not keep; the message key says why, for the user."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def image_type(data: bytes) -> str | None:
    for magic, offset, ext in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "heic"
    return None


@dataclass(frozen=True, slots=True)
class StoredMedia:
    sha256: str
    ext: str
    size: int

    @property
    def name(self) -> str:
        return f"{self.sha256}.{self.ext}"


class MediaStore:
    def __init__(self, root: Path, max_bytes: int = MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes  # a larger photo is refused (media.max_bytes)

    def path(self, name: str) -> Path:
        return self.root / name[:2] / name

    def find(self, name: str) -> Path | None:
        """The file of a stored photo by its name; None for any other name, or no such file."""
        if not is_media_name(name):
            return None
        path = self.path(name)
        return path if path.is_file() else None

    async def save_image(self, data: bytes) -> StoredMedia:
        if len(data) > self.max_bytes:
            raise MediaError("media.too_large")
        ext = image_type(data)
        if ext is None:
            raise MediaError("media.not_image")
        stored = StoredMedia(hashlib.sha256(data).hexdigest(), ext, len(data))
        target = self.path(stored.name)
        if not target.exists():  # same bytes, same name: a second upload costs nothing
            await asyncio.to_thread(_write_atomically, target, data)
        return stored


def is_media_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)


@runtime_checkable
class Downloader(Protocol):
    """A channel that can fetch what a person sent it (a picture's bytes, by its media id).
    A file it will not keep raises MediaError; a failed fetch SendError (or a network error)."""

    async def download(self, media: MediaRef) -> bytes: ...


@dataclass(slots=True)
class Photos:
    """Keeps the photos people send: fetched from their platform at once (platforms delete
    them within days), checked by content, stored by their SHA-256."""

    store: MediaStore
    downloaders: dict[str, Downloader] = field(default_factory=dict)

    async def keep(self, msg: InboundMessage) -> str:
        """The stored name of the message's photo; MediaError (its key says why) otherwise."""
        downloader = self.downloaders.get(msg.channel)
        if msg.media is None or downloader is None:
            raise MediaError("media.unavailable")
        try:
            data = await downloader.download(msg.media)
        except MediaError:
            raise
        except (SendError, OSError, ClientError, TimeoutError, ValueError) as exc:
            log.warning("photo %s/%s could not be fetched: %s", msg.channel, msg.msg_id, exc)
            raise MediaError("media.unavailable") from exc
        return (await self.store.save_image(data)).name


@dataclass(frozen=True, slots=True)
class Links:
    """Links to stored photos, as a person's phone can open them (GET /media/<name>)."""

    public_url: str = ""

    def photo(self, name: str) -> str:
        return f"{self.public_url.rstrip('/')}/media/{name}"


async def serve(media: MediaStore, name: str) -> web.StreamResponse:
    """A stored photo by its content-addressed name (unguessable: the link is the key)."""
    path = media.find(name)
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path)
