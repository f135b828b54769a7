"""Channel-neutral messages: what a channel hands the dispatcher and what comes back."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# What no villager means to send and a database or a chat window may choke on: C0 and C1
# controls but tab and newline (NUL fails PostgreSQL's text), the marks and overrides that
# reorder text on screen (U+202E shows "gpj.exe" for "exe.jpg"), and lone surrogates (not
# encodable as UTF-8).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NEWLINES = re.compile("\r\n?")


def clean(text: str) -> str:
    """Text as it may be stored and shown: line ends as newlines, the unsafe characters
    dropped, a lone surrogate replaced by U+FFFD."""
    text = _NEWLINES.sub("\n", text)
    return _SURROGATE.sub("\ufffd", _UNSAFE.sub("", text))


class Kind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VOICE = "voice"
    LOCATION = "location"
    EVENT = "event"
    # A person's message of a kind the bot cannot read (a video, a file, a link card): logged
    # and answered like any other, never read. `text` stays empty, so no flow takes it for
    # an answer; `event` holds the platform's own name of the kind ("video", "interactiveCard").
    OTHER = "other"


class MediaRef(BaseModel):
    """Where a photo or voice clip can be fetched: a platform media id and/or a URL."""

    model_config = ConfigDict(frozen=True)

    media_id: str = ""
    url: str = ""


class Location(BaseModel):
    model_config = ConfigDict(frozen=True)

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    label: str = ""


class InboundMessage(BaseModel):
    """One message or event from any platform, after its signature was checked."""

    model_config = ConfigDict(frozen=True)

    channel: str
    msg_id: str
    chat_id: str
    is_group: bool = False
    sender_id: str
    sender_name: str = ""
    kind: Kind
    text: str = ""
    media: MediaRef | None = None
    location: Location | None = None
    event: str = ""
    mentioned: bool = False
    time: datetime
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @field_validator("msg_id", "chat_id", "sender_id", "sender_name", "text", "event")
    @classmethod
    def _cleaned(cls, value: str) -> str:
        """Every channel's text is cleaned here, at the one door they all go through."""
        return clean(value)

    @property
    def addressed(self) -> bool:
        """Whether the bot is spoken to: always in a 1:1 chat, in a group only when @mentioned."""
        return self.mentioned or not self.is_group


class ReplyKind(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    IMAGE = "image"
    LINK = "link"  # a card: title, text, a link (and a picture URL); a notice with details


class Reply(BaseModel):
    """What the bot says back; the channel decides how to render it."""

    model_config = ConfigDict(frozen=True)

    kind: ReplyKind = ReplyKind.TEXT
    text: str = ""
    image: str = ""  # media name (kind=image), or a picture URL (kind=link)
    mentions: tuple[str, ...] = ()  # external user ids to @mention where the channel can
    title: str = ""  # kind=link
    url: str = ""  # kind=link: where the card leads

    @classmethod
    def of_text(cls, text: str, *, mentions: tuple[str, ...] = ()) -> Reply:
        return cls(kind=ReplyKind.TEXT, text=text, mentions=mentions)


class Push(BaseModel):
    """A message the bot sends on its own: to a chat or a user of a channel."""

    model_config = ConfigDict(frozen=True)

    channel: str
    chat_id: str
    is_group: bool
    reply: Reply
