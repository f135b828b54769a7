"""What a DingTalk robot message (an HTTP callback's body, a Stream frame's data) may hold,
field by field: a body that does not fit is refused before anything is stored or handled."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    model_validator,
)
from pydantic.alias_generators import to_camel

from bot.channels.payload import load_json, validated
from bot.message import InboundMessage, Kind, MediaRef

# Epoch milliseconds from 2015 (before DingTalk's app robots) to 2100: DingTalk sends no time
# outside them, and far enough out a time no longer fits a datetime.
EpochMs = Annotated[int, Field(ge=1_420_070_400_000, le=4_102_444_800_000)]
MAX_TEXT = 20_000  # past any message a person types; the inbound log keeps the first 4000
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Id = Annotated[str, Field(max_length=128)]  # the inbound log's id columns
Name = Annotated[str, Field(max_length=256)]
Code = Annotated[str, Field(max_length=1024)]  # a download code (a few hundred characters)
TAKEN = ("text", "picture", "richText", "audio")


class Model(BaseModel):
    # DingTalk adds fields over time (senderPlatform, openThreadId, hostingContext …):
    # those are ignored, never read or stored.
    model_config = ConfigDict(alias_generator=to_camel, extra="ignore", frozen=True)


class AtUser(Model):
    dingtalk_id: Id = ""
    staff_id: Id = ""


class RobotMessage(Model):
    """The fields every robot message carries; the kinds the bot takes add their content."""

    msgtype: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
    msg_id: Id = Field(min_length=1)
    create_at: EpochMs | None = None
    conversation_id: Id = ""
    conversation_type: Literal["1", "2"] = "1"  # 1:1 or group, as a string
    conversation_title: Name = ""
    sender_id: Id = ""
    sender_staff_id: Id = ""  # only for members of the robot's own organisation
    sender_nick: Name = ""
    sender_corp_id: Id = ""
    chatbot_corp_id: Id = ""
    chatbot_user_id: Id = ""
    robot_code: Id = ""
    is_admin: bool = False
    is_in_at_list: bool = False
    at_users: list[AtUser] = Field(default_factory=list, max_length=100)
    session_webhook: Annotated[str, Field(max_length=1024)] = ""
    session_webhook_expired_time: EpochMs | None = None

    @model_validator(mode="after")
    def _who_and_where(self) -> RobotMessage:
        if not (self.sender_staff_id or self.sender_id):
            raise ValueError("no senderStaffId or senderId")
        if self.is_group and not self.conversation_id:
            raise ValueError("a group message without its conversationId")
        return self

    @property
    def is_group(self) -> bool:
        return self.conversation_type == "2"

    def parts(self) -> tuple[Kind, str, MediaRef | None]:
        """What the message says and carries: nothing the bot can read, for a kind it does
        not take (the kinds it takes say more)."""
        return Kind.OTHER, "", None


class TextContent(Model):
    content: Text


class TextMessage(RobotMessage):
    msgtype: Literal["text"]
    text: TextContent

    def parts(self) -> tuple[Kind, str, MediaRef | None]:
        return Kind.TEXT, self.text.content.strip(), None


class PictureContent(Model):
    download_code: Code = ""
    picture_download_code: Code = ""

    @model_validator(mode="after")
    def _has_code(self) -> PictureContent:
        if not (self.download_code or self.picture_download_code):
            raise ValueError("a picture without its downloadCode")
        return self


class PictureMessage(RobotMessage):
    msgtype: Literal["picture"]
    content: PictureContent

    def parts(self) -> tuple[Kind, str, MediaRef | None]:
        code = self.content.download_code or self.content.picture_download_code
        return Kind.IMAGE, "", MediaRef(media_id=code)


class RichTextPart(Model):
    text: Text = ""
    type: Annotated[str, Field(max_length=32)] = ""
    download_code: Code = ""


class RichTextContent(Model):
    rich_text: list[RichTextPart] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _text_fits(self) -> RichTextContent:
        if sum(len(p.text) for p in self.rich_text) > MAX_TEXT:
            raise ValueError(f"more than {MAX_TEXT} characters of text")
        return self


class RichTextMessage(RobotMessage):
    msgtype: Literal["richText"]
    content: RichTextContent

    def parts(self) -> tuple[Kind, str, MediaRef | None]:
        text = "".join(p.text for p in self.content.rich_text).strip()
        codes = [p.download_code for p in self.content.rich_text if p.download_code]
        if codes:  # the first photo: a report takes one per message
            return Kind.IMAGE, text, MediaRef(media_id=codes[0])
        return Kind.TEXT, text, None


class AudioContent(Model):
    recognition: Text = ""  # DingTalk's transcript
    download_code: Code = ""
    duration: int = Field(0, ge=0, le=3_600_000)  # milliseconds


class AudioMessage(RobotMessage):
    msgtype: Literal["audio"]
    content: AudioContent

    def parts(self) -> tuple[Kind, str, MediaRef | None]:
        media = MediaRef(media_id=self.content.download_code)
        return Kind.VOICE, self.content.recognition.strip(), media


def _taken_kind(data: Any) -> str:
    kind = data.get("msgtype") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) and kind in TAKEN else "other"


class RobotCallback(
    RootModel[
        Annotated[
            Annotated[TextMessage, Tag("text")]
            | Annotated[PictureMessage, Tag("picture")]
            | Annotated[RichTextMessage, Tag("richText")]
            | Annotated[AudioMessage, Tag("audio")]
            # file, video, interactiveCard, chatRecord and any kind DingTalk adds: its
            # common fields checked, its content never read (Kind.OTHER)
            | Annotated[RobotMessage, Tag("other")],
            Discriminator(_taken_kind),
        ]
    ]
):
    """A robot message of any kind, validated as its msgtype says."""


def robot_message(body: bytes) -> RobotMessage:
    """The robot message of a body; PayloadError when it is not one."""
    return validated(RobotCallback, load_json(body)).root


def to_inbound(message: RobotMessage, channel: str, now: datetime) -> InboundMessage:
    """The channel-neutral message; Kind.OTHER, its msgtype kept as the `event`, for a kind
    the bot does not take."""
    kind, text, media = message.parts()
    sender = message.sender_staff_id or message.sender_id
    created = message.create_at
    return InboundMessage(
        channel=channel,
        msg_id=message.msg_id,
        chat_id=message.conversation_id if message.is_group else sender,
        is_group=message.is_group,
        sender_id=sender,
        sender_name=message.sender_nick,
        kind=kind,
        text=text,
        media=media,
        event=message.msgtype if kind is Kind.OTHER else "",
        mentioned=message.is_in_at_list,
        time=datetime.fromtimestamp(created / 1000, UTC) if created else now,
        raw=message.model_dump(by_alias=True),
    )


class Event(Model):
    """An event of the encrypted callback: DingTalk's URL check (check_url) and the events
    the app subscribed to. Only the URL check means anything to the bot."""

    event_type: str = Field(alias="EventType", pattern=r"^[A-Za-z0-9_.]{1,64}$")


class Envelope(Model):
    """The body of an encrypted callback."""

    encrypt: str = Field(min_length=1, max_length=2 * 1024 * 1024)
