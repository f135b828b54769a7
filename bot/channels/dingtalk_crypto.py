"""DingTalk's encrypted callback, as its official samples (open-dingtalk/DingTalk-Callback-
Crypto) build it: a body {"encrypt": …} with signature, timestamp (ms) and nonce in the query.

signature = sha1 of the sorted concatenation of token, timestamp, nonce and encrypt (hex);
encrypt = base64(AES-256-CBC(key, iv=key[:16], 16 random characters + the message's length
as 4 big-endian bytes + the message + the app key, padded PKCS#7 to 32-byte blocks)), where
key = base64decode(aes_key + "="). The answer is the encrypted "success", signed the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import struct

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.payload import PayloadError

PAD_BITS = 256  # DingTalk pads to 32 bytes, not to AES's 16
RANDOM = 16  # the random prefix, and our nonces
ALPHABET = string.ascii_letters + string.digits


class CryptoError(PayloadError):
    """The envelope is signed but cannot be opened: a wrong aes_key, or not for this app."""


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    joined = "".join(sorted((token, timestamp, nonce, encrypt)))
    return hashlib.sha1(joined.encode()).hexdigest()  # SHA-1 is DingTalk's choice


def _random_text(size: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(size))


class CallbackCrypto:
    def __init__(self, token: str, aes_key: str, owner: str) -> None:
        self._token = token
        self._key = base64.b64decode(aes_key + "=")
        self._owner = owner.encode()  # an internal app's key; DingTalk appends it

    def signed(self, given: str, timestamp: str, nonce: str, encrypt: str) -> bool:
        expected = signature(self._token, timestamp, nonce, encrypt)
        return hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "replace"))

    def open(self, encrypt: str) -> bytes:
        """The message inside a signed envelope (verify the signature first: CBC has no MAC)."""
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("encrypt is not base64") from exc
        if not data or len(data) % 16:
            raise CryptoError("encrypt is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(PAD_BITS).unpadder()
        try:
            plain = unpadder.update(padded) + unpadder.finalize()
        except ValueError as exc:
            raise CryptoError("cannot decrypt: check the aes_key") from exc
        if len(plain) < RANDOM + 4:
            raise CryptoError("cannot decrypt: too short")
        (length,) = struct.unpack(">I", plain[RANDOM : RANDOM + 4])
        end = RANDOM + 4 + length
        if end > len(plain) or not hmac.compare_digest(plain[end:], self._owner):
            raise CryptoError("not for this app: check the aes_key and app_key")
        return plain[RANDOM + 4 : end]

    def seal(self, message: str, timestamp: str) -> dict[str, str]:
        """An encrypted answer: msg_signature, timeStamp, nonce and encrypt."""
        body = message.encode()
        plain = _random_text(RANDOM).encode() + struct.pack(">I", len(body)) + body + self._owner
        padder = padding.PKCS7(PAD_BITS).padder()
        padded = padder.update(plain) + padder.finalize()
        encryptor = self._cipher().encryptor()
        encrypt = base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()
        nonce = _random_text(RANDOM)
        return {
            "msg_signature": signature(self._token, timestamp, nonce, encrypt),
            "timeStamp": timestamp,
            "nonce": nonce,
            "encrypt": encrypt,
        }

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))
