"""The XML that WeChat Official Accounts and WeCom apps post, read defensively: nesting
bounded before the parser runs, DTDs and entities refused, and every field of each kind
of message validated, so that a body WeChat would never send is a 400 and nothing else.

Field limits are the platforms' own where they publish them (PROTOCOLS.md §1.2, §3.1) and
generous bounds where they do not: a real message never comes near them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

from bot.channels.payload import PayloadError, check_xml_depth, validated
from bot.message import InboundMessage, Kind, Location, MediaRef

MAX_BYTES = 64 * 1024  # a callback is a few KiB (safe mode's base64 of 8192 CJK: 33 KiB)
MAX_FIELDS = 64  # a callback has about a dozen
MAX_TEXT = 8192  # characters of a text or recognised voice (undocumented; WeChat's are shorter)
EPOCH_MIN = 946_684_800  # 2000-01-01: no platform message is older
EPOCH_MAX = 4_102_444_800  # 2100-01-01
_DIGITS = re.compile(r"[0-9]+")


def _digits(limit: int) -> BeforeValidator:
    """Decimal digits only, at most `limit` of them: no sign, blanks, exponent or '_'."""

    def check(value: Any) -> Any:
        if not (isinstance(value, str) and len(value) <= limit and _DIGITS.fullmatch(value)):
            raise ValueError(f"must be at most {limit} decimal digits")
        return int(value)

    return BeforeValidator(check)


# A gh_ id, an OpenID, a CorpID or a UserID ("1~64 bytes of digits, letters and _-@.", as
# WeCom says of UserIDs): they become keys and log fields, so no blank or newline gets in
Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-@.]{1,64}$")]
Epoch = Annotated[int, _digits(10), Field(ge=EPOCH_MIN, le=EPOCH_MAX)]
MsgId = Annotated[int, _digits(20), Field(ge=1, le=2**64 - 1)]
AgentId = Annotated[int, _digits(10), Field(ge=1, le=2**31 - 1)]
MediaId = Annotated[str, Field(pattern=r"^[!-~]{1,256}$")]  # printable ASCII, no blanks
Url = Annotated[str, Field(max_length=2048, pattern=r"^(https?://\S+)?$")]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Short = Annotated[str, Field(max_length=256)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class XmlMessage(BaseModel):
    """What every message and event carries (AgentID: WeCom only)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    to_user: Id = Field(alias="ToUserName")
    from_user: Id = Field(alias="FromUserName")
    create_time: Epoch = Field(alias="CreateTime")
    msg_type: str = Field(alias="MsgType", pattern=r"^[a-z_]{1,32}$")
    agent_id: AgentId | None = Field(None, alias="AgentID")


class Numbered(XmlMessage):
    """A message (not an event): identified by its MsgId (voice spells it MsgID)."""

    msg_id: MsgId = Field(validation_alias=AliasChoices("MsgId", "MsgID"))


class TextMessage(Numbered):
    msg_type: Literal["text"] = Field(alias="MsgType")
    content: Text = Field(alias="Content")


class ImageMessage(Numbered):
    msg_type: Literal["image"] = Field(alias="MsgType")
    media_id: MediaId = Field(alias="MediaId")
    pic_url: Url = Field("", alias="PicUrl")


class VoiceMessage(Numbered):
    msg_type: Literal["voice"] = Field(alias="MsgType")
    media_id: MediaId = Field(alias="MediaId")
    format: str = Field("", alias="Format", pattern=r"^[a-z0-9]{0,16}$")
    recognition: Text = Field("", alias="Recognition")  # only with speech recognition on


class VideoMessage(Numbered):
    msg_type: Literal["video", "shortvideo"] = Field(alias="MsgType")
    media_id: MediaId = Field(alias="MediaId")
    thumb_media_id: MediaId | None = Field(None, alias="ThumbMediaId")


class LocationMessage(Numbered):
    msg_type: Literal["location"] = Field(alias="MsgType")
    latitude: Latitude = Field(alias="Location_X")
    longitude: Longitude = Field(alias="Location_Y")
    scale: Annotated[int, _digits(3)] | None = Field(None, alias="Scale")
    label: Short = Field("", alias="Label")


class LinkMessage(Numbered):
    msg_type: Literal["link"] = Field(alias="MsgType")
    title: Short = Field("", alias="Title")
    description: Text = Field("", alias="Description")
    url: Url = Field("", alias="Url")


class EventMessage(XmlMessage):
    """An event: no MsgId (WeChat tells retries apart by FromUserName + CreateTime). Event
    names come in either case (CLICK, subscribe) and new ones appear: their shape is
    checked, not a list."""

    msg_type: Literal["event"] = Field(alias="MsgType")
    event: str = Field(alias="Event", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
    event_key: Annotated[str, Field(max_length=2048)] = Field("", alias="EventKey")  # VIEW: a URL
    ticket: Short = Field("", alias="Ticket")
    latitude: Latitude | None = Field(None, alias="Latitude")  # LOCATION reports
    longitude: Longitude | None = Field(None, alias="Longitude")
    precision: float | None = Field(None, alias="Precision", ge=0, le=1e6, allow_inf_nan=False)

    @property
    def name(self) -> str:
        """The event in lower case; a subscription by a QR code with a scene is its own."""
        event = self.event.lower()
        if event == "subscribe" and self.event_key.startswith("qrscene_"):
            return "subscribe_scan"
        return event


MODELS: dict[str, type[XmlMessage]] = {
    "text": TextMessage,
    "image": ImageMessage,
    "voice": VoiceMessage,
    "video": VideoMessage,
    "shortvideo": VideoMessage,
    "location": LocationMessage,
    "link": LinkMessage,
    "event": EventMessage,
}


class SealedEnvelope(BaseModel):
    """A safe-mode (or WeCom) body: the ciphertext, base64 of whole AES blocks."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    encrypt: str = Field(alias="Encrypt", pattern=r"^[A-Za-z0-9+/]+={0,2}$")
    to_user: Id | None = Field(None, alias="ToUserName")


def read_fields(body: bytes) -> dict[str, str]:
    """The children of a flat <xml> document, parsed with DTDs and entities forbidden, after
    its size and nesting were bounded (the WeCom app's is read before its signature can be
    checked: a megabyte of elements would cost the loop a third of a second). PayloadError
    when it is not such a document."""
    if len(body) > MAX_BYTES:
        raise PayloadError(f"larger than {MAX_BYTES // 1024} KiB")
    check_xml_depth(body)
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise PayloadError("malformed XML") from exc
    except (ValueError, LookupError) as exc:  # expat on encoding="GBK" or an unknown one
        raise PayloadError("XML in an encoding other than UTF-8") from exc
    if root.tag != "xml":
        raise PayloadError("malformed XML: the root is not <xml>")
    if len(root) > MAX_FIELDS:
        raise PayloadError(f"more than {MAX_FIELDS} fields")
    found: dict[str, str] = {}
    for child in root:
        if child.tag in found:
            raise PayloadError(f"{child.tag[:40]}: given twice")  # a tag may be long
        found[child.tag] = child.text or ""
    return found


def read_message(body: bytes) -> XmlMessage:
    """A decrypted or plaintext message, validated for its MsgType. A kind the bot does not
    know (one WeChat adds) is checked for the common fields only, and its MsgId when it has
    one, which still tells WeChat's retries apart."""
    found = read_fields(body)
    common = validated(XmlMessage, found)
    model = MODELS.get(common.msg_type)
    if model is None:
        model = Numbered if "MsgId" in found or "MsgID" in found else XmlMessage
    return validated(model, found)


def sealed_part(body: bytes) -> SealedEnvelope:
    """The envelope of a safe-mode or WeCom callback, read before its signature is checked."""
    return validated(SealedEnvelope, read_fields(body))


def to_inbound(channel: str, message: XmlMessage, xml: str) -> InboundMessage:
    """The channel-neutral message of a WeChat or WeCom message (they share the fields); a
    kind the bot does not read (video, link, one WeChat adds) is Kind.OTHER, its MsgType
    kept as the `event`."""
    time = datetime.fromtimestamp(message.create_time, UTC)
    msg_id = (
        str(message.msg_id)
        if isinstance(message, Numbered)
        else f"{message.from_user}:{message.create_time}"
    )
    common: dict[str, Any] = {
        "channel": channel,
        "chat_id": message.from_user,
        "sender_id": message.from_user,
        "time": time,
        "msg_id": msg_id,
        "raw": {"xml": xml},
    }
    match message:
        case TextMessage():
            return InboundMessage(kind=Kind.TEXT, text=message.content, **common)
        case ImageMessage():
            media = MediaRef(media_id=message.media_id, url=message.pic_url)
            return InboundMessage(kind=Kind.IMAGE, media=media, **common)
        case VoiceMessage():
            media = MediaRef(media_id=message.media_id)
            text = message.recognition
            return InboundMessage(kind=Kind.VOICE, text=text, media=media, **common)
        case LocationMessage():
            place = Location(
                latitude=message.latitude, longitude=message.longitude, label=message.label
            )
            return InboundMessage(kind=Kind.LOCATION, location=place, **common)
        case EventMessage():
            return InboundMessage(kind=Kind.EVENT, event=message.name, **common)
    return InboundMessage(kind=Kind.OTHER, event=message.msg_type, **common)
