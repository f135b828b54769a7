"""The smart robot's callbacks as WeCom sends them (PROTOCOLS.md §3.3, §8.1), one pydantic
model per message type with its types, lengths and ranges bounded; and the channel-neutral
message each makes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from bot.channels.payload import load_json, validated
from bot.message import InboundMessage, Kind, MediaRef

ENCRYPT_MAX = 1024 * 1024  # the app refuses larger bodies (server.max_body_bytes) anyway
ID_MAX = 128
WORDS_MAX = 16 * 1024  # characters of a message's text
URL_MAX = 4096  # signed COS links are long
ITEMS_MAX = 50  # parts of a mixed (图文混排) message
TIME_MAX = 2**32  # create_time, in seconds
ENTER_CHAT = "enter_chat"  # the one callback a passive text may answer (§3.3)
# "@村务助手 停水通知": the mention WeCom leaves at the start of a group message's text
LEADING_MENTION = re.compile(r"^@\S*\s*")

Id = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX)]
OptionalId = Annotated[str, StringConstraints(max_length=ID_MAX)]
Words = Annotated[str, StringConstraints(max_length=WORDS_MAX)]
Link = Annotated[
    str, StringConstraints(min_length=1, max_length=URL_MAX, pattern=r"^https?://[^\s]+$")
]
# Stream ids are ours (stream_id() in wecom_smart_streams.py): WeCom only sends them back.
StreamKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class Model(BaseModel):
    """Strict: a number where WeCom sends a string is refused, not coerced."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


class SealedBody(Model):
    """The POST body: {"encrypt": "…"}, read before the signature is checked."""

    encrypt: Annotated[str, StringConstraints(min_length=1, max_length=ENCRYPT_MAX)]


class Head(Model):
    msgtype: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class Text(Model):
    content: Words


class Media(Model):
    """An image, file or video: only its link (valid 5 minutes; the file is encrypted)."""

    url: Link


class TextItem(Model):
    msgtype: Literal["text"]
    text: Text


class ImageItem(Model):
    msgtype: Literal["image"]
    image: Media


Item = Annotated[TextItem | ImageItem, Field(discriminator="msgtype")]


class Mixed(Model):
    msg_item: Annotated[list[Item], Field(min_length=1, max_length=ITEMS_MAX)]

    def words(self) -> str:
        return " ".join(i.text.content for i in self.msg_item if isinstance(i, TextItem))

    def images(self) -> list[str]:
        return [i.image.url for i in self.msg_item if isinstance(i, ImageItem)]


class Quote(Model):
    """The message a user quoted in theirs: any of the kinds a message can be."""

    msgtype: Literal["text", "image", "mixed", "voice", "file", "video"]
    text: Text | None = None
    image: Media | None = None
    mixed: Mixed | None = None
    voice: Text | None = None
    file: Media | None = None
    video: Media | None = None

    def words(self) -> str:
        if self.text is not None:
            return self.text.content
        if self.voice is not None:
            return self.voice.content
        return self.mixed.words() if self.mixed is not None else ""


class Sender(Model):
    userid: Id


class Callback(Model):
    """What every callback carries. In a group the chat is `chatid`; 1:1 has none."""

    msgid: Id
    aibotid: OptionalId = ""
    chattype: Literal["single", "group"] = "single"
    chatid: OptionalId = ""
    sender: Sender = Field(alias="from")
    response_url: Annotated[str, StringConstraints(max_length=URL_MAX)] = ""
    create_time: Annotated[int, Field(ge=0, le=TIME_MAX)] | None = None
    quote: Quote | None = None

    @model_validator(mode="after")
    def _group_has_chat(self) -> Callback:
        if self.chattype == "group" and not self.chatid:
            raise ValueError("a group message without its chatid")
        return self


class TextMessage(Callback):
    msgtype: Literal["text"]
    text: Text


class MixedMessage(Callback):
    msgtype: Literal["mixed"]
    mixed: Mixed


class VoiceMessage(Callback):
    """voice.content is WeCom's transcription: there is no audio to fetch."""

    msgtype: Literal["voice"]
    voice: Text


class ImageMessage(Callback):
    msgtype: Literal["image"]
    image: Media


class FileMessage(Callback):
    msgtype: Literal["file"]
    file: Media


class VideoMessage(Callback):
    msgtype: Literal["video"]
    video: Media


class OtherMessage(Callback):
    """A message of a type the bot does not know (one WeCom adds): its common fields
    checked, its content never read."""

    msgtype: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")]


class StreamId(Model):
    id: StreamKey


class StreamRefresh(Callback):
    """WeCom asking for the current body of a stream we answered with."""

    msgtype: Literal["stream"]
    stream: StreamId


class Event(Model):
    eventtype: Id


class EventMessage(Callback):
    msgtype: Literal["event"]
    event: Event


MODELS: dict[str, type[Callback]] = {
    "text": TextMessage,
    "mixed": MixedMessage,
    "voice": VoiceMessage,
    "image": ImageMessage,
    "file": FileMessage,
    "video": VideoMessage,
    "stream": StreamRefresh,
    "event": EventMessage,
}


def read_callback(plain: bytes) -> tuple[Callback, dict[str, Any]]:
    """The decrypted callback, validated as its type, with its JSON. PayloadError when it
    is not what WeCom sends."""
    data = load_json(plain)
    model = MODELS.get(validated(Head, data).msgtype, OtherMessage)
    return validated(model, data), data


def to_inbound(
    channel: str, callback: Callback, data: dict[str, Any], now: datetime
) -> InboundMessage | None:
    """The channel-neutral message of a user's message or enter_chat; Kind.OTHER, its
    msgtype kept as the `event`, for a message the bot cannot read (a file, a video); None
    for other events."""
    is_group = callback.chattype == "group"
    kind, text, media, event = Kind.TEXT, "", None, ""
    if isinstance(callback, TextMessage):
        text = callback.text.content
    elif isinstance(callback, VoiceMessage):
        kind, text = Kind.VOICE, callback.voice.content  # handled as its words
    elif isinstance(callback, MixedMessage):
        text, images = callback.mixed.words(), callback.mixed.images()
        if images:  # a photo with its caption: 随手拍 in one message (the first photo)
            kind, media = Kind.IMAGE, MediaRef(url=images[0])
    elif isinstance(callback, ImageMessage):
        kind, media = Kind.IMAGE, MediaRef(url=callback.image.url)
    elif isinstance(callback, EventMessage):
        if callback.event.eventtype != ENTER_CHAT:
            return None
        kind, event = Kind.EVENT, ENTER_CHAT
    elif isinstance(callback, FileMessage | VideoMessage | OtherMessage):
        kind, event = Kind.OTHER, callback.msgtype
    else:
        return None  # a stream refresh is the channel's, not a message
    text = text.strip()
    if is_group:
        text = LEADING_MENTION.sub("", text, count=1).strip()
    raw = dict(data)
    if callback.quote is not None:  # what was quoted, for a handler that wants it
        raw["quote_text"] = callback.quote.words()
    sender = callback.sender.userid
    return InboundMessage(
        channel=channel,
        msg_id=callback.msgid,
        chat_id=callback.chatid if is_group else sender,
        is_group=is_group,
        sender_id=sender,
        kind=kind,
        text=text,
        media=media,
        event=event,
        mentioned=is_group,  # in a group only @mentions reach a smart robot
        time=now,  # the callback's create_time is not in every message; ours is one clock
        raw=raw,
    )
