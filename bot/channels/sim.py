"""The web chat simulator: pick a person and a chat, talk to the bot, watch every chat.

It is a channel like the others (its messages go through the same dispatcher); its
transport is the JSON API under /sim/api that the page at /sim and the tests use.
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, Field, ValidationError

from bot.access import bearer_matches, inline_policy, unauthorized
from bot.channels.base import ChannelDeps, deliver, photo_of
from bot.channels.payload import PayloadError, parse_json
from bot.channels.render import EVERYTHING, as_shown
from bot.channels.sim_transcript import Entry, Transcript
from bot.config import SimSettings
from bot.media import MAX_BYTES, MediaError, MediaStore, image_type, serve
from bot.message import InboundMessage, Kind, Location, MediaRef, Push, Reply, ReplyKind
from bot.outbox import SendError
from storage.models import Person
from storage.repos import UnitOfWork

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("sim_page.html")
PUSHES = 'data-pushes="sim"'  # on the page's <body>: "real" when pushes reach real groups
GUESTS = ("sim-guest-1", "sim-guest-2")  # unbound accounts, to try 绑定 with
DEADLINE = 10.0
UPLOADS_KEPT = 200
UPLOADS_BYTES = 256 * 1024 * 1024  # what the kept uploads may weigh together
IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "heic": "image/heic"}
FIELD_BYTES = 16 * 1024  # a photo form's other fields: a sender, a chat, a caption


def sim_external_id(person: Person) -> str:
    return f"sim-{person.code}"


class SimSend(BaseModel):
    sender: str = Field(min_length=1, max_length=128)
    chat: str = Field(min_length=1, max_length=128)  # a group's external id, or "dm"
    text: str = Field("", max_length=4000)
    mentioned: bool = False
    location: Location | None = None


class SimChannel:
    def __init__(
        self,
        name: str,
        deps: ChannelDeps,
        uow: UnitOfWork,
        media: MediaStore,
        access: SimSettings | None = None,
        real_pushes: bool = False,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.name = name
        self._deps = deps
        self._uow = uow
        self._media = media
        self._token = (access or SimSettings()).token
        self._max_bytes = max_bytes
        # the page says whether what is posted here can reach real groups
        pushes = "real" if real_pushes else "sim"
        self._page = PAGE.read_text(encoding="utf-8").replace(PUSHES, f'data-pushes="{pushes}"')
        self._page_policy = inline_policy(self._page)
        # what people uploaded, as a platform keeps it until the bot downloads it; None for
        # a photo past the media limit, of which nothing is kept
        self._uploads: OrderedDict[str, bytes | None] = OrderedDict()
        self.transcript = Transcript()

    async def callback(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPNotFound(text="the simulator speaks JSON under /sim/api")

    def routes(self) -> list[web.RouteDef]:
        """The page and the pictures are open (a picture's URL is unguessable, and an <img>
        sends no token); the API, which speaks as anyone, needs [sim] token when set."""
        return [
            web.get("/sim", self.page),
            web.get("/sim/api/people", self._guarded(self.people)),
            web.get("/sim/api/chats", self._guarded(self.chats)),
            web.post("/sim/api/messages", self._guarded(self.post_message)),
            web.post("/sim/api/photos", self._guarded(self.post_photo)),
            web.get("/sim/api/transcript", self._guarded(self.read_transcript)),
            web.get("/sim/media/{name}", self.media_file),
            web.get("/sim/uploads/{upload}", self.upload_file),
        ]

    def _guarded(self, handler: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            if self._token and not bearer_matches(request, self._token):
                return unauthorized(request, "simulator", "[sim] token")
            return await handler(request)

        return checked

    async def page(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            text=self._page,
            content_type="text/html",
            headers={"Content-Security-Policy": self._page_policy},
        )

    async def people(self, request: web.Request) -> web.Response:
        async with self._uow() as store:
            rows = await store.people.all_with_roles()
            names = {u.id: u.name for u in await store.org.all()}
            bound = await store.identities.external_ids(self.name)
        people = [
            {
                "id": sim_external_id(p),
                "code": p.code,
                "name": p.name,
                "roles": sorted({r.role.value for r in roles}),
                "units": sorted({names.get(r.org_unit_id, "") for r in roles}),
                "village": names.get(p.village_id, "") if p.village_id else "",
                "is_elder": p.is_elder,
                "bound": sim_external_id(p) in bound,
            }
            for p, roles in rows
        ]
        guests = [
            {
                "id": g,
                "code": "",
                "name": "",
                "roles": ["guest"],
                "units": [],
                "village": "",
                "is_elder": False,
                "bound": False,
            }
            for g in GUESTS
        ]
        return web.json_response(people + guests)

    async def chats(self, request: web.Request) -> web.Response:
        async with self._uow() as store:
            groups = await store.chats.of_channel(self.name)
            names = {u.id: (u.name, u.level.value) for u in await store.org.all()}
        return web.json_response(
            [
                {
                    "id": g.external_id,
                    "name": g.name,
                    "purpose": g.purpose.value,
                    "unit": names.get(g.org_unit_id, ("", ""))[0],
                    "level": names.get(g.org_unit_id, ("", ""))[1],
                }
                for g in groups
            ]
        )

    async def post_message(self, request: web.Request) -> web.Response:
        try:
            req = parse_json(SimSend, await request.read())
        except PayloadError as exc:
            log.warning("sim: refused a message: %s", exc)
            raise web.HTTPBadRequest(text=f"bad request: {exc}") from exc
        if not req.text.strip() and req.location is None:
            raise web.HTTPBadRequest(text="send text or a location")
        kind = Kind.LOCATION if req.location is not None else Kind.TEXT
        return await self._dispatch(req, kind, text=req.text, location=req.location)

    async def post_photo(self, request: web.Request) -> web.Response:
        """A photo with its sender and chat, streamed: the callbacks' body limit is not the
        photo's. One past the media limit is answered as the bot answers a platform's."""
        fields, photo = await read_photo_form(request, self._max_bytes)
        try:
            req = SimSend(
                sender=fields.get("sender", ""),
                chat=fields.get("chat", ""),
                mentioned=fields.get("mentioned", "").lower() in ("1", "true", "on"),
            )
        except ValidationError as exc:
            raise web.HTTPBadRequest(text=f"bad request: {exc}") from exc
        upload_id = uuid.uuid4().hex
        self._keep_upload(upload_id, photo)
        url = f"/sim/uploads/{upload_id}" if photo is not None else ""
        media = MediaRef(media_id=upload_id, url=url)
        caption = fields.get("text", "").strip()[:2000]  # a photo sent with its words
        return await self._dispatch(req, Kind.IMAGE, media=media, text=caption)

    def _keep_upload(self, upload_id: str, photo: bytes | None) -> None:
        self._uploads[upload_id] = photo
        weight = sum(len(p or b"") for p in self._uploads.values())
        while len(self._uploads) > UPLOADS_KEPT or weight > UPLOADS_BYTES:
            weight -= len(self._uploads.popitem(last=False)[1] or b"")

    async def download(self, media: MediaRef) -> bytes:
        """An upload's bytes, as a platform's media download gives them: unchecked, but
        past the media limit MediaError, as a platform's download is cut off there."""
        if media.media_id not in self._uploads:
            raise SendError(f"no upload {media.media_id} (the simulator keeps the last few)")
        data = self._uploads[media.media_id]
        if data is None:
            raise MediaError("media.too_large")
        return data

    async def upload_file(self, request: web.Request) -> web.Response:
        data = self._uploads.get(request.match_info["upload"])
        if data is None:
            raise web.HTTPNotFound()
        mime = IMAGE_TYPES.get(image_type(data) or "", "application/octet-stream")
        return web.Response(body=data, content_type=mime)

    async def _dispatch(self, req: SimSend, kind: Kind, **content: Any) -> web.Response:
        is_group = req.chat != "dm"
        chat_id = req.chat if is_group else req.sender
        now = self._deps.clock.now()
        msg = InboundMessage(
            channel=self.name,
            msg_id=uuid.uuid4().hex,
            chat_id=chat_id,
            is_group=is_group,
            sender_id=req.sender,
            kind=kind,
            mentioned=req.mentioned,
            time=now,
            **content,
        )
        image = msg.media.url if msg.media else ""
        shown = msg.text or (msg.location.label if msg.location else "")
        self.transcript.add(chat_id, "in", req.sender, shown, image, now, kind.value)
        replies = await deliver(self._deps, msg, DEADLINE)
        for reply in replies:
            self.record_out(chat_id, reply)
        answers = [r.model_copy(update={"text": as_shown(r, EVERYTHING)}) for r in replies]
        return web.json_response({"replies": [r.model_dump(mode="json") for r in answers]})

    def send_interval(self, push: Push) -> float:
        return 0.0  # the simulator has no rate limit

    async def prepare(self, pushes: Sequence[Push]) -> None:
        return None

    async def send(self, push: Push) -> str:
        """A push from the outbox shows up in the chat's transcript, as on a platform."""
        entry = self.record_out(push.chat_id, push.reply)
        return f"seq {entry.seq}"

    def record_out(self, chat_id: str, reply: Reply) -> Entry:
        if reply.kind is ReplyKind.LINK:  # the simulator shows a card as its text and link
            shown, image = "\n".join(p for p in (reply.title, reply.text, reply.url) if p), ""
        elif reply.image and (reply.kind is ReplyKind.IMAGE or photo_of(reply)):
            shown, image = as_shown(reply, EVERYTHING), f"/sim/media/{reply.image}"  # by name
        else:
            shown, image = as_shown(reply, EVERYTHING), ""  # a person's words as written
        now = self._deps.clock.now()
        return self.transcript.add(chat_id, "out", "bot", shown, image, now, reply.kind.value)

    async def read_transcript(self, request: web.Request) -> web.Response:
        try:
            after = int(request.query.get("after", "0"))
        except ValueError as exc:
            raise web.HTTPBadRequest(text="after must be a number") from exc
        entries = self.transcript.after(after, request.query.get("chat") or None)
        return web.json_response([e.as_json() for e in entries])

    async def media_file(self, request: web.Request) -> web.StreamResponse:
        return await serve(self._media, request.match_info["name"])


async def read_photo_form(request: web.Request, limit: int) -> tuple[dict[str, str], bytes | None]:
    """The form's text fields and its photo, read as they stream in; None for a photo past
    `limit` (reading stops there: the rest of the body is left to the server to discard)."""
    try:
        return await _read_form(await request.multipart(), limit)
    except (ValueError, AssertionError) as exc:  # aiohttp's words for a malformed form
        raise web.HTTPBadRequest(text=f"send a multipart form: {exc}") from exc


async def _read_form(reader: MultipartReader, limit: int) -> tuple[dict[str, str], bytes | None]:
    fields: dict[str, str] = {}
    photo: bytes | None = None
    found = False
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            raise web.HTTPBadRequest(text="a flat form of named fields is expected")
        if part.name == "photo":
            found, photo = True, await read_part(part, limit)
            if photo is None:
                break
        elif part.name in ("sender", "chat", "mentioned", "text"):
            value = await read_part(part, FIELD_BYTES)
            if value is None:
                raise web.HTTPBadRequest(text=f"field {part.name!r} is too long")
            fields[part.name] = value.decode("utf-8", errors="replace")
    if not found:
        raise web.HTTPBadRequest(text="a photo file is required (field 'photo')")
    return fields, photo


async def read_part(part: BodyPartReader, limit: int) -> bytes | None:
    """A form part's bytes, or None as soon as they pass `limit`."""
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


async def enroll_registry(uow: UnitOfWork, channel: str, at: datetime) -> int:
    """Give every person of the registry who lives in a village or holds a role a simulator
    account, once. Family members living elsewhere are left unbound, so that the demo shows
    binding: pick one of them (or a guest) and send 绑定 with their name."""
    added = 0
    async with uow() as store:
        for person, roles in await store.people.all_with_roles():
            if person.village_id is None and not roles:
                continue
            if await store.identities.of_person(person.id, channel) is None:
                await store.identities.bind(
                    channel, sim_external_id(person), person.id, by="import", at=at
                )
                added += 1
    return added
