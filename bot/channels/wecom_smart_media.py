"""Pictures people send the smart robot: a link valid 5 minutes to a file encrypted with the
robot's EncodingAESKey (PROTOCOLS.md §8.1), fetched at once and decrypted here."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.base import read_limited
from bot.http import Http
from bot.message import MediaRef
from bot.outbox import SendError

PAD_BLOCK = 32  # WeCom pads to 32 bytes, not AES's 16: a 16-byte unpad would fail
AES_BLOCK = 16


def media_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey."""
    return base64.b64decode(encoding_aes_key + "=")


def decrypt_media(data: bytes, key: bytes) -> bytes:
    """AES-256-CBC, IV = the key's first 16 bytes, PKCS#7 padding of 1 to 32 bytes. A file
    that is not whole blocks, or whose padding is wrong, is refused (ValueError): it was cut
    short or not sealed with this robot's key."""
    if not data or len(data) % AES_BLOCK:
        raise ValueError("encrypted media is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:AES_BLOCK])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= PAD_BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise ValueError("encrypted media has a bad padding")
    return plain[:-pad]


class MediaLinks:
    """Fetches what a media link holds, no more than `max_bytes` of picture (MediaError past
    it), and decrypts it. An expired or refused link is a SendError, so the villager reads
    the same 请再发一次 as on every channel. Errors never carry the link: it is signed."""

    def __init__(self, http: Http, encoding_aes_key: str, max_bytes: int) -> None:
        self._http = http
        self._key = media_key(encoding_aes_key)
        self._max_bytes = max_bytes

    async def fetch(self, media: MediaRef) -> bytes:
        if not media.url.startswith(("https://", "http://")):
            raise SendError("no media link", permanent=True)
        async with self._http.session.get(media.url) as resp:
            if resp.status != 200:
                raise SendError(f"media link refused: HTTP {resp.status}", permanent=True)
            sealed = await read_limited(resp, self._max_bytes + PAD_BLOCK)
        return decrypt_media(sealed, self._key)
