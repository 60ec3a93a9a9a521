"""FakeDiscord: the REST API, the gateway and the state they share, served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from .gateway import GUILD_MESSAGE_REACTIONS, GUILD_MESSAGES, MESSAGE_CONTENT, FakeGateway
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    COMPONENT,
    MODAL_SUBMIT,
    InteractionHandle,
    MessageHandle,
    OptionBuilder,
    modal_submission,
    walk_components,
)
from .payloads import (
    ADMINISTRATOR,
    EPHEMERAL,
    JSON,
    LOADING,
    Channel,
    Guild,
    Member,
    People,
    Snowflakes,
    User,
    apply_message_body,
    build_guild,
    channel_payload,
    member_payload,
    message_payload,
    now_iso,
    resolve_mentions,
)
from .rest import API, ApiError, Request, RestApi, UploadedFile

T = TypeVar("T")


class FakeDiscord:
    """A Discord for one bot: REST on one free port, the gateway on another.

    Users: `bot_user`, `owner` (guild owner), `admin` (Admin role: Manage Server),
    `mod` (Mod role: Manage Messages), `member` (no role). Each guild has #general and
    #mod-log. `privileged_intents` are those enabled for the bot in the developer portal.
    """

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        guild_names: tuple[str, ...] = ("Newsroom",),
        privileged_intents: int = 0,
        application_flags: int = 0,
        heartbeat_interval: float = 41.25,
        shard_count: int = 1,
    ) -> None:
        self.token = token
        self.new_id = Snowflakes()
        new = self.new_id
        self.people = People(
            bot=User(new(), "newsbot", bot=True),
            owner=User(new(), "olivia"),
            admin=User(new(), "alice"),
            mod=User(new(), "mo"),
            member=User(new(), "bob"),
        )
        self.bot_user, self.owner = self.people.bot, self.people.owner
        self.admin, self.mod, self.member = self.people.admin, self.people.mod, self.people.member
        self.users = {u.id: u for u in vars(self.people).values()}
        # Guild i is on shard i % shard_count, so a test's guilds cover every shard.
        self.shard_count = shard_count
        self.guilds = [
            build_guild(new, name, self.people, guild_id=new.on_shard(i % shard_count, shard_count))
            for i, name in enumerate(guild_names)
        ]
        self.privileged_intents = privileged_intents
        self.application_flags = application_flags
        self.heartbeat_interval_ms = int(heartbeat_interval * 1000)

        self.requests: list[Request] = []
        self.unknown_routes: list[str] = []
        self.errors: list[str] = []
        self.messages: dict[int, JSON] = {}
        self.commands: dict[int | None, list[JSON]] = {}  # None: global commands
        self.interactions: dict[str, InteractionHandle] = {}
        self.reactions: list[tuple[int, str]] = []  # (message id, emoji) the bot added
        self.files: dict[int, bytes] = {}  # attachment id -> bytes, served on the CDN
        self.in_flight = 0  # REST requests not yet answered
        # (channel id, user id) -> permission bits a channel overwrite adds for that user: they
        # count in the channel (`interaction.permissions`), never in the server's roles.
        self.overwrites: dict[tuple[int, int], int] = {}
        self.attachment_size_limit = 10 * 1024 * 1024  # what an interaction says a file may be
        self.dm_channels: dict[int, User] = {}  # DM channel id -> the user the bot writes to
        self.closed_dms: set[User] = set()  # users who do not take DMs from the bot (403 50007)
        self.muted_channels: set[int] = set()  # channels the bot may no longer post in (403 50013)

        self.rest = RestApi(self)
        self.gateway = FakeGateway(self)
        self.cdn_base = self.api_base = self.gateway_url = ""
        self._runners: list[web.AppRunner] = []
        self._changed = asyncio.Event()

    @property
    def application_id(self) -> int:
        return self.bot_user.id

    @property
    def guild(self) -> Guild:
        return self.guilds[0]

    @property
    def channel(self) -> Channel:
        """#general of the first guild: where helpers act unless told otherwise."""
        return self.guild.channels[0]

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        rest_port = await self._serve(self.rest.app)
        gateway_port = await self._serve(self.gateway.app)
        self.cdn_base = f"http://127.0.0.1:{rest_port}"
        self.api_base = self.cdn_base + API
        self.gateway_url = f"ws://127.0.0.1:{gateway_port}/"

    async def _serve(self, app: web.Application) -> int:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return int(runner.addresses[0][1])

    async def close(self) -> None:
        await self.gateway.close()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    # -- bookkeeping and waiting -----------------------------------------------------------

    def notify(self) -> None:
        """Wake every `until` waiter: something was recorded or changed."""
        self._changed.set()
        self._changed = asyncio.Event()

    def record(self, request: Request) -> None:
        self.requests.append(request)
        self.notify()

    def error(self, problem: str) -> None:
        self.errors.append(problem)
        self.notify()

    async def until(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        """`check()` once it is not None, re-checked on every change, or TimeoutError."""
        try:
            async with asyncio.timeout(timeout):
                while (found := check()) is None:
                    await self._changed.wait()
                return found
        except TimeoutError:
            seen = "\n  ".join(str(r) for r in self.requests[-12:]) or "(none)"
            problems = "".join(f"\n  ! {e}" for e in self.errors)
            raise TimeoutError(
                f"waited {timeout}s for {what} in vain (did the bot raise? see "
                f"its log). Last requests:\n  {seen}{problems}"
            ) from None

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until every REST request is answered and the bot has had a moment to read the
        answers: a user cannot click a button before the bot has learned its message id."""
        await self.until(
            lambda: True if self.in_flight == 0 else None, timeout, "the bot's requests to be answered"
        )
        await asyncio.sleep(0.01)

    def find_requests(self, method: str, path: str) -> list[Request]:
        """Recorded requests with this method whose path fully matches the regex `path`."""
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method.upper() and pattern.fullmatch(r.path)]

    async def wait_for_request(self, method: str, path: str, *, n: int = 1, timeout: float = 5.0) -> Request:
        """The n-th request matching `method` and the regex `path` (earlier ones count)."""

        def check() -> Request | None:
            found = self.find_requests(method, path)
            return found[n - 1] if len(found) >= n else None

        return await self.until(check, timeout, f"request #{n} {method} {path}")

    # -- the world -------------------------------------------------------------------------

    def shard_of(self, guild_id: int) -> int:
        """The shard Discord sends a guild's events to."""
        return (guild_id >> 22) % self.shard_count

    def add_user(self, name: str) -> User:
        """A new user, member of every guild with no role (for many askers)."""
        user = User(self.new_id(), name)
        self.users[user.id] = user
        for guild in self.guilds:
            guild.members.append(Member(user))
        return user

    def guild_by_id(self, guild_id: int) -> Guild | None:
        return next((g for g in self.guilds if g.id == guild_id), None)

    def channel_by_id(self, channel_id: int) -> tuple[Guild, Channel] | None:
        return next(((g, c) for g in self.guilds for c in g.channels if c.id == channel_id), None)

    def guild_of(self, channel: Channel) -> Guild:
        guild = self.guild_by_id(channel.guild_id)
        if guild is None:
            raise LookupError(f"no guild for {channel}")
        return guild

    # -- direct messages -------------------------------------------------------------------

    def dm_channel(self, user: User) -> Channel:
        """The bot's DM channel with `user` (made on first use)."""
        found = next((i for i, u in self.dm_channels.items() if u == user), None)
        if found is None:
            found = self.new_id()
            self.dm_channels[found] = user
        return Channel(found, f"dm-{user.name}", 0, type=1)

    def create_dm_message(self, channel_id: int, body: JSON, files: tuple[UploadedFile, ...]) -> JSON:
        """Store a DM the bot sent (a DM pings no one but its reader, so no mentions are kept)."""
        user = self.dm_channels[channel_id]
        message = message_payload(self.new_id(), self.dm_channel(user), self.bot_user)
        apply_message_body(message, body, self.attachments(body, files, []))
        self.messages[int(message["id"])] = message
        self.notify()
        return message

    def dms(self, user: User) -> list[JSON]:
        """The DMs the bot sent `user`, oldest first."""
        channel = str(self.dm_channel(user).id)
        return [m for _, m in sorted(self.messages.items()) if m["channel_id"] == channel]

    # -- messages (shared by the REST routes and the interaction handles) ------------------

    def host_file(self, upload: UploadedFile) -> JSON:
        """Keep an uploaded file on the CDN and describe it as an attachment."""
        attachment_id = self.new_id()
        self.files[attachment_id] = upload.data
        url = f"{self.cdn_base}/attachments/{attachment_id}/{upload.filename}"
        return {
            "id": str(attachment_id),
            "filename": upload.filename,
            "size": len(upload.data),
            "url": url,
            "proxy_url": url,
            "content_type": upload.content_type,
        }

    def attachments(
        self, body: JSON, files: tuple[UploadedFile, ...], existing: list[JSON]
    ) -> list[JSON] | None:
        """The attachments after this body: listed ones kept or uploaded (None: unchanged)."""
        listed = body.get("attachments")
        if listed is None:
            return [self.host_file(f) for f in files] if files else None
        kept = {a["id"]: a for a in existing}
        uploads = {f.field: f for f in files}
        result = []
        for item in listed:
            key = str(item["id"])
            if key in kept:
                result.append(kept[key])
            elif f"files[{key}]" in uploads:
                result.append(self.host_file(uploads[f"files[{key}]"]))
            else:
                raise ApiError(400, 50035, f"attachments: id {key} is no upload or attachment")
        return result

    async def create_message(
        self, channel: Channel, author: User, body: JSON, files: tuple[UploadedFile, ...], **fields: Any
    ) -> JSON:
        """Store a message the bot posted; like Discord, echo it as MESSAGE_CREATE."""
        message = message_payload(self.new_id(), channel, author, **fields)
        apply_message_body(message, body, self.attachments(body, files, []))
        guild = self.guild_of(channel)
        resolve_mentions(message, body, guild, self.users)
        self.messages[int(message["id"])] = message
        self.notify()
        if not message["flags"] & EPHEMERAL and self.gateway.session_for(guild.id) is not None:
            await self.gateway.dispatch(
                "MESSAGE_CREATE",
                {
                    **message,
                    "guild_id": str(guild.id),
                    "member": member_payload(guild, author, with_user=False),
                },
                intent=GUILD_MESSAGES,
                guild_id=guild.id,
            )
        return message

    def edit_message(self, message: JSON, body: JSON, files: tuple[UploadedFile, ...]) -> JSON:
        """Apply an edit; filling a deferred ("thinking") message is not shown as edited."""
        apply_message_body(message, body, self.attachments(body, files, message["attachments"]))
        found = self.channel_by_id(int(message["channel_id"]))
        if found is not None:
            resolve_mentions(message, body, found[0], self.users)
        if message["flags"] & LOADING:
            message["flags"] &= ~LOADING
        else:
            message["edited_timestamp"] = now_iso()
        self.notify()
        return message

    def channel_permissions(self, channel: Channel, user: User) -> int:
        """A user's permissions in a channel: the server's, plus the channel's overwrite."""
        return self.guild_of(channel).permissions(user) | self.overwrites.get((channel.id, user.id), 0)

    # -- what a test sends to the bot ------------------------------------------------------

    def find_command(self, name: str, guild_id: int) -> JSON | None:
        """A synced command by name: the guild's first, then the global ones."""
        for scope in (guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name:
                    return command
        return None

    async def send_interaction(
        self,
        name: str,
        options: Mapping[str, object] | None = None,
        *,
        user: User | None = None,
        channel: Channel | None = None,
        locale: str = "en-US",
        settle: bool = True,
    ) -> InteractionHandle:
        """A slash command, as `/name` or `/group sub` with `{"option": value}`.

        Values: str, int, float, bool, `User`, `Role`, `Channel`, `Upload`. Types come from the
        synced command when there is one, else from the Python value. Like Discord, a command
        whose `default_member_permissions` the user lacks cannot be run (PermissionError).
        """
        channel = channel or self.channel
        user = user or self.member
        guild = self.guild_of(channel)
        command = self.find_command(name.split()[0], guild.id)
        if command and command.get("default_member_permissions") is not None:
            needed, held = int(command["default_member_permissions"]), self.channel_permissions(channel, user)
            if (held & needed != needed) or (needed == 0 and not held & ADMINISTRATOR):
                raise PermissionError(
                    f"Discord hides /{name} from {user.name}: it needs permissions {needed}, they have {held}"
                )
        data = OptionBuilder(self, guild).command_data(name, options or {}, command)
        return await self._interact(APPLICATION_COMMAND, data, user, channel, locale=locale, settle=settle)

    async def send_autocomplete(
        self,
        name: str,
        options: Mapping[str, object],
        focused: str,
        *,
        user: User | None = None,
        channel: Channel | None = None,
    ) -> InteractionHandle:
        """The user typing in option `focused`; `await handle.choices()` gives the bot's list."""
        channel = channel or self.channel
        guild = self.guild_of(channel)
        command = self.find_command(name.split()[0], guild.id)
        data = OptionBuilder(self, guild).command_data(name, options, command, focused=focused)
        return await self._interact(AUTOCOMPLETE, data, user or self.member, channel)

    async def send_component(
        self,
        custom_id: str,
        *,
        message: JSON | None = None,
        values: list[str] | None = None,
        user: User | None = None,
    ) -> InteractionHandle:
        """A click on a button (or a select choice) the bot posted; by default on the latest
        message that has a component with this custom_id."""

        def has_it(m: JSON) -> bool:
            return any(c.get("custom_id") == custom_id for c in walk_components(m["components"]))

        if message is None:
            message = next((m for _, m in sorted(self.messages.items(), reverse=True) if has_it(m)), None)
        if message is None or not has_it(message):
            raise LookupError(f"no message of the bot has a component {custom_id!r}")
        component = next(c for c in walk_components(message["components"]) if c.get("custom_id") == custom_id)
        data: JSON = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        found = self.channel_by_id(int(message["channel_id"]))
        if found is None:
            raise LookupError(f"message {message['id']} is in no fake channel")
        return await self._interact(COMPONENT, data, user or self.member, found[1], message=message)

    async def send_modal_submit(
        self, opened_by: InteractionHandle, values: Mapping[str, str | list[str]], *, user: User | None = None
    ) -> InteractionHandle:
        """Submit the modal the bot opened in answer to `opened_by`, inputs by custom_id."""
        modal = await opened_by.modal()
        data = {
            "custom_id": modal["custom_id"],
            "components": modal_submission(modal.get("components", []), values),
        }
        return await self._interact(
            MODAL_SUBMIT,
            data,
            user or self.member,
            opened_by.channel,
            message=opened_by.payload.get("message"),
        )

    async def _interact(
        self,
        kind: int,
        data: JSON,
        user: User,
        channel: Channel,
        *,
        message: JSON | None = None,
        locale: str = "en-US",
        settle: bool = True,
    ) -> InteractionHandle:
        if settle:  # many users at once (a load test) do not wait for each other
            await self.settle()
        guild = self.guild_of(channel)
        interaction_id = self.new_id()
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "token": f"interaction-token-{interaction_id}",
            "version": 1,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": {
                **channel_payload(channel),
                "permissions": str(self.channel_permissions(channel, user)),
            },
            "member": {
                **member_payload(guild, user, with_permissions=True),
                "permissions": str(self.channel_permissions(channel, user)),
            },
            "app_permissions": str(guild.permissions(self.bot_user)),
            "locale": locale,
            "guild_locale": "en-US",
            "entitlements": [],
            "context": 0,
            "authorizing_integration_owners": {"0": str(guild.id)},
            "attachment_size_limit": self.attachment_size_limit,
        }
        if message is not None:
            payload["message"] = message
        handle = InteractionHandle(self, payload, channel)
        self.interactions[handle.token] = handle
        await self.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=guild.id)
        return handle

    async def send_message(
        self,
        content: str,
        *,
        user: User | None = None,
        channel: Channel | None = None,
        reply_to: JSON | None = None,
    ) -> MessageHandle:
        """A user posts in a channel. `<@id>` / `<@&id>` in `content` become mentions (use
        `fake.bot_user.mention`); a reply mentions the replied-to author. Like Discord, without
        the Message Content intent the bot only gets the content of messages mentioning it."""
        await self.settle()
        channel, user = channel or self.channel, user or self.member
        guild = self.guild_of(channel)
        fields: JSON = {}
        if reply_to is not None:
            fields.update(
                type=19,
                referenced_message=reply_to,
                message_reference={
                    "type": 0,
                    "message_id": reply_to["id"],
                    "channel_id": str(channel.id),
                    "guild_id": str(guild.id),
                },
            )
        message = message_payload(self.new_id(), channel, user, content=content, **fields)
        resolve_mentions(message, {"content": content}, guild, self.users)
        self.messages[int(message["id"])] = message
        event = {**message, "guild_id": str(guild.id), "member": member_payload(guild, user, with_user=False)}
        session = self.gateway.session_for(guild.id)
        mentioned = {int(u["id"]) for u in message["mentions"]}
        if session and not session.intents & MESSAGE_CONTENT and self.bot_user.id not in mentioned:
            event.update(content="", embeds=[], attachments=[], components=[])
        delivered = await self.gateway.dispatch(
            "MESSAGE_CREATE", event, intent=GUILD_MESSAGES, guild_id=guild.id
        )
        return MessageHandle(self, message, delivered)

    async def send_reaction(
        self, message: JSON, emoji: str = "\N{THUMBS DOWN SIGN}", *, user: User | None = None
    ) -> bool:
        """A user reacts to a message; False if the bot's intents do not receive reactions."""
        await self.settle()
        user = user or self.member
        found = self.channel_by_id(int(message["channel_id"]))
        if found is None:
            raise LookupError(f"message {message['id']} is in no fake channel")
        guild, channel = found
        return await self.gateway.dispatch(
            "MESSAGE_REACTION_ADD",
            {
                "user_id": str(user.id),
                "channel_id": str(channel.id),
                "message_id": message["id"],
                "guild_id": str(guild.id),
                "member": member_payload(guild, user),
                "emoji": {"id": None, "name": emoji},
                "burst": False,
                "burst_colors": [],
                "type": 0,
                "message_author_id": message["author"]["id"],
            },
            intent=GUILD_MESSAGE_REACTIONS,
            guild_id=guild.id,
        )

    async def request_reconnect(self, timeout: float = 5.0) -> None:
        """Ask the bot to reconnect (op 7) and wait until it has resumed its session."""
        before = len(self.gateway.connections)
        await self.gateway.request_reconnect()
        await self.until(
            lambda: True if any(c.resumed for c in self.gateway.connections[before:]) else None,
            timeout,
            "a resumed gateway connection",
        )
