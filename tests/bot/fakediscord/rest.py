"""The fake's REST API under /api/v10, plus a tiny CDN for attachments.

Every request is recorded. A route the fake does not know is answered 404 and listed in
`fake.unknown_routes`; a request Discord would refuse (bad body, double acknowledgement,
unknown message...) is answered with Discord's error JSON and listed in `fake.errors`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, hdrs, web

from .payloads import (
    JSON,
    Channel,
    Guild,
    application_payload,
    channel_payload,
    message_problem,
    user_payload,
)

if TYPE_CHECKING:
    from .server import FakeDiscord

API = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class UploadedFile:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Request:
    """One recorded request. `path` is relative to the API base ("/channels/1/messages");
    `json` is the body, or a multipart body's payload_json, or None."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: tuple[UploadedFile, ...] = ()

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


RECORD = web.RequestKey("record", Request)


class ApiError(Exception):
    """A Discord error answer. `problem` also lists it in `fake.errors`: the bot erred."""

    def __init__(self, status: int, code: int, message: str, *, problem: bool = True) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.problem = status, code, message, problem

    def response(self) -> web.Response:
        body: JSON = {"code": self.code, "message": self.message}
        if self.code == 50035:  # discord.py shows these as "In body: <message>"
            body = {
                "code": 50035,
                "message": "Invalid Form Body",
                "errors": {"body": {"_errors": [{"code": "BASE_TYPE_INVALID", "message": self.message}]}},
            }
        return json_response(body, status=self.status)


def json_response(data: Any, status: int = 200) -> web.Response:
    """JSON as Discord sends it: discord.py only parses an exact `application/json` type."""
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def unknown(what: str, code: int) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


def check_message(body: JSON, files: tuple[UploadedFile, ...], *, edit: bool = False) -> None:
    problem = message_problem(body, has_files=bool(files), edit=edit)
    if problem is not None:
        raise ApiError(400, 50006 if problem.startswith("Cannot") else 50035, problem)


def no_content() -> web.Response:
    return web.Response(status=204)


class RestApi:
    """The routes, each answering as Discord would, behind a recording middleware."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.app = web.Application(middlewares=[self.middleware])
        routes = [
            ("GET", "/users/@me", self.me),
            ("GET", "/users/{user_id}", self.user),
            ("POST", "/users/@me/channels", self.open_dm),
            ("GET", "/gateway", self.gateway),
            ("GET", "/gateway/bot", self.gateway_bot),
            ("GET", "/applications/@me", self.application),
            ("GET", "/oauth2/applications/@me", self.application),  # what discord.py 2.7 calls
            ("GET", "/applications/{app_id}/commands", self.commands),
            ("PUT", "/applications/{app_id}/commands", self.put_commands),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self.commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self.put_commands),
            ("GET", "/channels/{channel_id}", self.channel),
            ("POST", "/channels/{channel_id}/typing", self.typing),
            ("POST", "/channels/{channel_id}/messages", self.create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message),
            ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self.react),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self.unreact),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self.callback),
            ("POST", "/webhooks/{app_id}/{token}", self.followup),
            ("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self.webhook_message),
            ("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self.webhook_message),
            ("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}", self.webhook_message),
        ]
        for method, path, handler in routes:
            self.app.router.add_route(method, API + path, handler)
        self.app.router.add_get("/attachments/{attachment_id}/{filename}", self.cdn)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix(API) if request.path.startswith(API + "/") else request.path
        try:
            payload, files = await read_body(request)
        except ValueError as exc:
            self.fake.error(f"{request.method} {path}: unreadable body: {exc}")
            return json_response(
                {"code": 50109, "message": "The request body contains invalid JSON."}, status=400
            )
        record = request[RECORD] = Request(request.method, path, dict(request.query), payload, files)
        self.fake.record(record)
        if request.match_info.http_exception is not None:
            self.fake.unknown_routes.append(f"{request.method} {request.path}")
            return json_response({"code": 0, "message": "404: Not Found"}, status=404)
        public = path.startswith(("/interactions/", "/webhooks/", "/attachments/"))
        if not public and request.headers.get(hdrs.AUTHORIZATION) != f"Bot {self.fake.token}":
            return json_response({"code": 0, "message": "401: Unauthorized"}, status=401)
        self.fake.in_flight += 1
        try:
            response = await handler(request)
        except ApiError as exc:
            if exc.problem:
                self.fake.error(f"{record}: {exc.message}")
            response = exc.response()
        try:  # sent before it counts as answered, see FakeDiscord.settle
            await response.prepare(request)
            await response.write_eof()
        finally:
            self.fake.in_flight -= 1
            self.fake.notify()
        return response

    # -- who am I --------------------------------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        return json_response(
            {**user_payload(self.fake.bot_user), "verified": True, "mfa_enabled": False, "flags": 0}
        )

    async def user(self, request: web.Request) -> web.Response:
        user = self.fake.users.get(int(request.match_info["user_id"]))
        if user is None:
            raise unknown("User", 10013)
        return json_response(user_payload(user))

    async def gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.fake.gateway_url})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.fake.gateway_url,
                "shards": self.fake.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def application(self, request: web.Request) -> web.Response:
        fake = self.fake
        return json_response(application_payload(fake.bot_user, fake.owner, fake.application_flags))

    # -- application commands --------------------------------------------------------------

    def command_scope(self, request: web.Request) -> int | None:
        if int(request.match_info["app_id"]) != self.fake.application_id:
            raise ApiError(403, 50001, "Missing Access: not this bot's application")
        if "guild_id" not in request.match_info:
            return None
        guild = self.fake.guild_by_id(int(request.match_info["guild_id"]))
        if guild is None:
            raise ApiError(403, 50001, "Missing Access: the bot is not in that guild")
        return guild.id

    async def commands(self, request: web.Request) -> web.Response:
        return json_response(self.fake.commands.get(self.command_scope(request), []))

    async def put_commands(self, request: web.Request) -> web.Response:
        scope = self.command_scope(request)
        body = request[RECORD].json
        if not isinstance(body, list):
            raise ApiError(400, 50035, "a bulk overwrite takes a list of commands")
        old = {c["name"]: c["id"] for c in self.fake.commands.get(scope, [])}
        stored = []
        for command in body:
            entry = {
                "type": 1,
                "description": "",
                "options": [],
                "nsfw": False,
                **command,
                "id": old.get(command["name"]) or str(self.fake.new_id()),
                "application_id": str(self.fake.application_id),
                "version": str(self.fake.new_id()),
            }
            if scope is not None:
                entry["guild_id"] = str(scope)
            stored.append(entry)
        self.fake.commands[scope] = stored
        return json_response(stored)

    # -- channels and messages -------------------------------------------------------------

    def channel_of(self, request: web.Request) -> tuple[Guild, Channel]:
        found = self.fake.channel_by_id(int(request.match_info["channel_id"]))
        if found is None:
            raise unknown("Channel", 10003)
        return found

    def message_of(self, request: web.Request) -> JSON:
        _, channel = self.channel_of(request)
        message = self.fake.messages.get(int(request.match_info["message_id"]))
        if message is None or message["channel_id"] != str(channel.id):
            raise unknown("Message", 10008)
        return message

    async def channel(self, request: web.Request) -> web.Response:
        guild, channel = self.channel_of(request)
        return json_response(channel_payload(channel, guild.channels.index(channel)))

    async def typing(self, request: web.Request) -> web.Response:
        self.channel_of(request)
        return no_content()

    async def create_message(self, request: web.Request) -> web.Response:
        if int(request.match_info["channel_id"]) in self.fake.dm_channels:
            return await self.create_dm_message(request)
        guild, channel = self.channel_of(request)
        if channel.id in self.fake.muted_channels:
            raise ApiError(403, 50013, "Missing Permissions", problem=False)
        record = request[RECORD]
        body = record.json or {}
        check_message(body, record.files)
        fields: JSON = {}
        ref = body.get("message_reference")
        if ref:
            target = self.fake.messages.get(int(ref["message_id"]))
            if target is None:
                raise ApiError(400, 50035, "message_reference: Unknown message")
            fields = {
                "type": 19,
                "referenced_message": target,
                "message_reference": {
                    "type": 0,
                    "message_id": target["id"],
                    "channel_id": target["channel_id"],
                    "guild_id": str(guild.id),
                },
            }
        message = await self.fake.create_message(channel, self.fake.bot_user, body, record.files, **fields)
        return json_response(message)

    # -- direct messages ---------------------------------------------------------------------

    async def open_dm(self, request: web.Request) -> web.Response:
        """The DM channel with a user (one per user, as Discord keeps it)."""
        body = request[RECORD].json or {}
        user = self.fake.users.get(int(body.get("recipient_id") or 0))
        if user is None:
            raise ApiError(400, 50035, "recipient_id: Unknown user")
        channel = self.fake.dm_channel(user)
        return json_response(
            {
                "id": str(channel.id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [user_payload(user)],
            }
        )

    async def create_dm_message(self, request: web.Request) -> web.Response:
        """A DM: refused like Discord (403, 50007) when the user closed their DMs to the bot."""
        channel_id = int(request.match_info["channel_id"])
        record = request[RECORD]
        body = record.json or {}
        check_message(body, record.files)
        if self.fake.dm_channels[channel_id] in self.fake.closed_dms:
            raise ApiError(403, 50007, "Cannot send messages to this user", problem=False)
        return json_response(self.fake.create_dm_message(channel_id, body, record.files))

    async def get_message(self, request: web.Request) -> web.Response:
        return json_response(self.message_of(request))

    async def edit_message(self, request: web.Request) -> web.Response:
        message = self.message_of(request)
        if message["author"]["id"] != str(self.fake.bot_user.id):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        record = request[RECORD]
        check_message(record.json or {}, record.files, edit=True)
        return json_response(self.fake.edit_message(message, record.json or {}, record.files))

    async def delete_message(self, request: web.Request) -> web.Response:
        message = self.message_of(request)
        del self.fake.messages[int(message["id"])]
        self.fake.notify()
        return no_content()

    async def react(self, request: web.Request) -> web.Response:
        message = self.message_of(request)
        self.fake.reactions.append((int(message["id"]), request.match_info["emoji"]))
        self.fake.notify()
        return no_content()

    async def unreact(self, request: web.Request) -> web.Response:
        key = (int(self.message_of(request)["id"]), request.match_info["emoji"])
        if key in self.fake.reactions:
            self.fake.reactions.remove(key)
        return no_content()

    # -- interactions and their webhooks ---------------------------------------------------

    def interaction(self, request: web.Request) -> Any:
        handle = self.fake.interactions.get(request.match_info["token"])
        if handle is None:
            raise unknown("Interaction", 10062)
        if "interaction_id" in request.match_info:
            if int(request.match_info["interaction_id"]) != handle.id:
                raise unknown("Interaction", 10062)
        elif int(request.match_info["app_id"]) != self.fake.application_id:
            raise unknown("Webhook", 10015)
        return handle

    async def callback(self, request: web.Request) -> web.Response:
        record = request[RECORD]
        answer = await self.interaction(request).acknowledge(record.json or {}, record.files)
        if record.query.get("with_response") in ("1", "true", "True"):
            return json_response(answer)
        return no_content()

    async def followup(self, request: web.Request) -> web.Response:
        record = request[RECORD]
        message = await self.interaction(request).send_followup(record.json or {}, record.files)
        if record.query.get("wait") in ("1", "true", "True"):
            return json_response(message)
        return no_content()

    async def webhook_message(self, request: web.Request) -> web.Response:
        handle = self.interaction(request)
        record = request[RECORD]
        ref = request.match_info["message_id"]
        if request.method == "GET":
            return json_response(handle.message(ref))
        if request.method == "DELETE":
            handle.delete(ref)
            return no_content()
        return json_response(handle.edit(ref, record.json or {}, record.files))

    async def cdn(self, request: web.Request) -> web.Response:
        data = self.fake.files.get(int(request.match_info["attachment_id"]))
        if data is None:
            raise unknown("Attachment", 0)
        return web.Response(body=data)


async def read_body(request: web.Request) -> tuple[Any, tuple[UploadedFile, ...]]:
    """The JSON body, or a multipart body's payload_json and files."""
    if not request.body_exists:
        return None, ()
    if not request.content_type.startswith("multipart/"):
        text = await request.text()
        return (json.loads(text) if text else None), ()
    payload: Any = None
    files: list[UploadedFile] = []
    async for part in await request.multipart():
        if not isinstance(part, BodyPartReader):
            continue
        data = await part.read()
        if part.name == "payload_json":
            payload = json.loads(data)
        else:
            files.append(
                UploadedFile(
                    part.name or "", part.filename or "", part.headers.get(hdrs.CONTENT_TYPE, ""), bytes(data)
                )
            )
    return payload, tuple(files)
