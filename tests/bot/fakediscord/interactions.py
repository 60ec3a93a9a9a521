"""What the fake sends to the bot (interactions, messages) and the handles a test awaits the
bot's answers on.

A handle follows Discord's rules: one callback per interaction, types valid for the
interaction type only, the first followup after a deferred (type 5) callback fills the
"thinking" message, and `@original` is the response message (or, after type 6/7, the message
the component was on).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .payloads import (
    EPHEMERAL,
    JSON,
    LOADING,
    Channel,
    Guild,
    Role,
    User,
    channel_payload,
    member_payload,
    role_payload,
    user_payload,
)
from .rest import ApiError, UploadedFile, check_message, unknown

if TYPE_CHECKING:
    from .server import FakeDiscord

# Interaction types and the callback types each may answer with.
APPLICATION_COMMAND, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
CALLBACKS = {
    APPLICATION_COMMAND: {4, 5, 9},
    COMPONENT: {4, 5, 6, 7, 9},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}


@dataclass(frozen=True)
class Upload:
    """A file a user attaches to a slash command option; the fake serves it on its CDN."""

    filename: str
    data: bytes
    content_type: str = "text/plain; charset=utf-8"


class InteractionHandle:
    """One interaction sent to the bot, and everything the bot answered to it."""

    def __init__(self, fake: FakeDiscord, payload: JSON, channel: Channel) -> None:
        self.fake, self.payload, self.channel = fake, payload, channel
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.callbacks: list[JSON] = []
        self.original_id: int | None = None
        self.followup_ids: list[int] = []
        self.answered = False

    def __repr__(self) -> str:
        return f"<InteractionHandle type={self.type} data={self.payload['data']}>"

    @property
    def callback(self) -> JSON | None:
        """The callback body (`{"type": 4, "data": {...}}`), once the bot has answered."""
        return self.callbacks[0] if self.callbacks else None

    @property
    def original(self) -> JSON | None:
        return None if self.original_id is None else self.fake.messages.get(self.original_id)

    @property
    def followups(self) -> list[JSON]:
        return [self.fake.messages[i] for i in self.followup_ids if i in self.fake.messages]

    async def wait_callback(self, timeout: float = 5.0) -> JSON:
        return await self.fake.until(lambda: self.callback, timeout, f"a callback to {self}")

    async def reply(self, timeout: float = 5.0) -> JSON:
        """The message the user sees as the answer, once the bot has filled it in: after a
        type 4/7 callback, or an edit or first followup after a defer."""
        return await self.fake.until(
            lambda: self.original if self.answered else None, timeout, f"an answer to {self}"
        )

    async def followup(self, n: int = 1, timeout: float = 5.0) -> JSON:
        """The n-th followup message (the first may be the filled-in deferred response)."""
        return await self.fake.until(
            lambda: self.followups[n - 1] if len(self.followups) >= n else None,
            timeout,
            f"followup #{n} to {self}",
        )

    async def choices(self, timeout: float = 5.0) -> list[JSON]:
        """The autocomplete choices the bot offered (callback type 8)."""
        body = await self.wait_callback(timeout)
        return list(body.get("data", {}).get("choices", []))

    async def modal(self, timeout: float = 5.0) -> JSON:
        """The modal the bot opened (callback type 9): custom_id, title, components."""
        body = await self.wait_callback(timeout)
        if body.get("type") != 9:
            raise AssertionError(f"the bot answered with callback type {body.get('type')}, not 9")
        return dict(body["data"])

    # -- what the REST layer calls ---------------------------------------------------------

    async def acknowledge(self, body: JSON, files: tuple[UploadedFile, ...]) -> JSON:
        kind = body.get("type")
        if self.callbacks:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if kind not in CALLBACKS[self.type]:
            raise ApiError(
                400, 50035, f"callback type {kind} is not valid for an interaction of type {self.type}"
            )
        if kind in (6, 7) and "message" not in self.payload:
            raise ApiError(
                400, 50035, f"callback type {kind} updates a message, and this interaction came from none"
            )
        data: JSON = body.get("data") or {}
        if kind in (4, 7):
            check_message(data, files, edit=kind == 7)
        self.callbacks.append(body)
        message: JSON | None = None
        if kind in (4, 5):
            flags = (data.get("flags") or 0) & EPHEMERAL | (LOADING if kind == 5 else 0)
            message = await self.fake.create_message(
                self.channel,
                self.fake.bot_user,
                data if kind == 4 else {},
                files,
                flags=flags,
                type=20 if self.type == APPLICATION_COMMAND else 0,
                webhook_id=str(self.fake.application_id),
                application_id=str(self.fake.application_id),
                interaction_metadata={
                    "id": str(self.id),
                    "type": self.type,
                    "user": self.payload["member"]["user"],
                    "authorizing_integration_owners": {"0": self.payload["guild_id"]},
                },
            )
            self.original_id = int(message["id"])
        elif kind in (6, 7):
            self.original_id = int(self.payload["message"]["id"])
            if kind == 7:
                message = self.fake.edit_message(self.fake.messages[self.original_id], data, files)
        self.answered = kind in (4, 7)
        self.fake.notify()
        answer: JSON = {
            "interaction": {
                "id": str(self.id),
                "type": self.type,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message["flags"] & EPHEMERAL),
            }
        }
        if message is not None:
            answer["interaction"]["response_message_id"] = message["id"]
        answer["resource"] = {"type": kind} if message is None else {"type": kind, "message": message}
        return answer

    async def send_followup(self, body: JSON, files: tuple[UploadedFile, ...]) -> JSON:
        if not self.callbacks:
            raise ApiError(404, 10015, "Unknown Webhook: followups need a callback first")
        check_message(body, files)
        original = self.original
        if original is not None and original["flags"] & LOADING:
            message = self.fake.edit_message(original, body, files)
            self.answered = True
        else:
            message = await self.fake.create_message(
                self.channel,
                self.fake.bot_user,
                body,
                files,
                flags=(body.get("flags") or 0) & EPHEMERAL,
                webhook_id=str(self.fake.application_id),
                application_id=str(self.fake.application_id),
            )
        self.followup_ids.append(int(message["id"]))
        self.fake.notify()
        return message

    def message(self, ref: str) -> JSON:
        """The response ("@original") or one of the followups, by id."""
        wanted = self.original_id if ref == "@original" else int(ref)
        mine = wanted == self.original_id or wanted in self.followup_ids
        if wanted is None or not mine or wanted not in self.fake.messages:
            raise unknown("Message", 10008)
        return self.fake.messages[wanted]

    def edit(self, ref: str, body: JSON, files: tuple[UploadedFile, ...]) -> JSON:
        check_message(body, files, edit=True)
        message = self.fake.edit_message(self.message(ref), body, files)
        if int(message["id"]) == self.original_id:
            self.answered = True
        self.fake.notify()
        return message

    def delete(self, ref: str) -> None:
        del self.fake.messages[int(self.message(ref)["id"])]
        self.fake.notify()


def walk_components(components: list[JSON]) -> Iterator[JSON]:
    """Every component, nested ones (rows, containers, sections, labels) included."""
    for component in components:
        yield component
        yield from walk_components(component.get("components", []))
        for key in ("accessory", "component"):
            if key in component:
                yield from walk_components([component[key]])


def modal_submission(components: list[JSON], values: Mapping[str, str | list[str]]) -> list[JSON]:
    """What Discord sends back for a submitted modal: its layout with the inputs filled in."""
    out: list[JSON] = []
    for c in components:
        if c["type"] == 1:
            out.append({"type": 1, "components": modal_submission(c["components"], values)})
        elif c["type"] == 18:
            out.append({"type": 18, "component": modal_submission([c["component"]], values)[0]})
        elif c["type"] == 4:
            out.append(
                {
                    "type": 4,
                    "custom_id": c["custom_id"],
                    "value": values.get(c["custom_id"], c.get("value") or ""),
                }
            )
        elif "custom_id" in c:
            value = values.get(c["custom_id"], [])
            out.append(
                {
                    "type": c["type"],
                    "custom_id": c["custom_id"],
                    "values": [value] if isinstance(value, str) else list(value),
                }
            )
    return out


def option_type(value: object) -> int:
    """Discord's option type for a Python value, when no synced schema says."""
    for kind, number in (
        (bool, 5),
        (int, 4),
        (float, 10),
        (str, 3),
        (User, 6),
        (Channel, 7),
        (Role, 8),
        (Upload, 11),
    ):
        if isinstance(value, kind):
            return number
    raise TypeError(f"no slash command option type for {value!r}")


class OptionBuilder:
    """Turns `{"name": value}` into interaction options plus their `resolved` data."""

    def __init__(self, fake: FakeDiscord, guild: Guild) -> None:
        self.fake, self.guild = fake, guild
        self.resolved: dict[str, dict[str, JSON]] = {}

    def command_data(
        self, name: str, options: Mapping[str, object], command: JSON | None, focused: str | None = None
    ) -> JSON:
        top, *subs = name.split()
        schema: list[JSON] | None = command.get("options", []) if command else None
        leaf: JSON = {"type": 1, "name": top, "options": []}
        data = leaf
        for depth, sub in enumerate(subs):
            known = next((o for o in schema or [] if o["name"] == sub), None)
            kind = known["type"] if known else (2 if depth < len(subs) - 1 else 1)
            node: JSON = {"type": kind, "name": sub, "options": []}
            leaf["options"].append(node)
            leaf, schema = node, (known.get("options", []) if known else None)
        for key, value in options.items():
            known = next((o for o in schema or [] if o["name"] == key), None)
            option = {
                "name": key,
                "type": known["type"] if known else option_type(value),
                "value": self.value(value),
            }
            if key == focused:
                option["focused"] = True
            leaf["options"].append(option)
        data["id"] = command["id"] if command else str(self.fake.new_id())
        if command and "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        if self.resolved:
            data["resolved"] = self.resolved
        return data

    def value(self, value: object) -> object:
        if isinstance(value, User):
            self.add("users", value.id, user_payload(value))
            if any(m.user.id == value.id for m in self.guild.members):
                self.add(
                    "members",
                    value.id,
                    member_payload(self.guild, value, with_user=False, with_permissions=True),
                )
            return str(value.id)
        if isinstance(value, Role):
            self.add("roles", value.id, role_payload(value))
            return str(value.id)
        if isinstance(value, Channel):
            self.add(
                "channels",
                value.id,
                {**channel_payload(value), "permissions": str(self.guild.permissions(self.fake.bot_user))},
            )
            return str(value.id)
        if isinstance(value, Upload):
            attachment = self.fake.host_file(
                UploadedFile("files[0]", value.filename, value.content_type, value.data)
            )
            self.add("attachments", int(attachment["id"]), attachment)
            return attachment["id"]
        return value

    def add(self, kind: str, key: int, payload: JSON) -> None:
        self.resolved.setdefault(kind, {})[str(key)] = payload


class MessageHandle:
    """A message a user posted, and what the bot did about it."""

    def __init__(self, fake: FakeDiscord, payload: JSON, delivered: bool) -> None:
        self.fake, self.payload, self.delivered = fake, payload, delivered
        self.id = int(payload["id"])

    @property
    def replies(self) -> list[JSON]:
        """Messages the bot posted in this channel since (interaction answers included)."""
        bot = str(self.fake.bot_user.id)
        return [
            m
            for i, m in sorted(self.fake.messages.items())
            if i > self.id
            and m["channel_id"] == self.payload["channel_id"]
            and m["author"]["id"] == bot
            and not m["flags"] & EPHEMERAL
        ]

    @property
    def reactions(self) -> list[str]:
        """Emoji the bot added to this message."""
        return [emoji for message_id, emoji in self.fake.reactions if message_id == self.id]

    async def reply(self, timeout: float = 5.0) -> JSON:
        """The first message the bot posted in this channel after this one."""
        return await self.fake.until(
            lambda: self.replies[0] if self.replies else None,
            timeout,
            f"a bot message after message {self.id}",
        )

    async def reaction(self, timeout: float = 5.0) -> str:
        return await self.fake.until(
            lambda: self.reactions[0] if self.reactions else None,
            timeout,
            f"a reaction of the bot to message {self.id}",
        )
