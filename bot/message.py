"""Channel-neutral messages: what a channel hands the dispatcher and what comes back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Kind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VOICE = "voice"
    LOCATION = "location"
    EVENT = "event"


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
