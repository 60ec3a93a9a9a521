"""The fake's small world (users, guilds, roles, channels) and the Discord v10 JSON it is sent as.

Field names and shapes follow Discord's API so discord.py parses them as it parses Discord.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 51) - 1
EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
)

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7


class Snowflakes:
    """Increasing ids that carry their creation time, as Discord's do."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(self._last + 1, now)
        return self._last

    def on_shard(self, shard: int, count: int) -> int:
        """The next id of a guild that Discord would route to `shard` of `count`: its
        timestamp moved forward by under `count` ms."""
        first = self()
        step = (shard - (first >> 22)) % count
        if step:
            self._last = ((first >> 22) + step) << 22
        return self._last


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class User:
    id: int
    name: str
    bot: bool = False

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass(frozen=True)
class Role:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


@dataclass(frozen=True)
class Channel:
    id: int
    name: str
    guild_id: int
    type: int = 0  # GUILD_TEXT

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"


@dataclass(frozen=True)
class Member:
    user: User
    role_ids: tuple[int, ...] = ()
    joined_at: str = field(default_factory=now_iso)


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: list[Role]
    channels: list[Channel]
    members: list[Member]

    def role(self, name: str) -> Role:
        return next(r for r in self.roles if r.name == name)

    def channel(self, name: str) -> Channel:
        return next(c for c in self.channels if c.name == name)

    def member(self, user: User) -> Member:
        for m in self.members:
            if m.user.id == user.id:
                return m
        raise LookupError(f"{user.name} is not a member of {self.name}")

    def permissions(self, user: User) -> int:
        """Guild-level permissions (the fake's channels have no overwrites)."""
        if user.id == self.owner_id:
            return ALL_PERMISSIONS
        roles = {r.id: r for r in self.roles}
        value = roles[self.id].permissions
        for role_id in self.member(user).role_ids:
            value |= roles[role_id].permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value


@dataclass(frozen=True)
class People:
    """The users every fake guild has: the bot, its owner and three kinds of member."""

    bot: User
    owner: User
    admin: User
    mod: User
    member: User


def build_guild(new_id: Snowflakes, name: str, people: People, *, guild_id: int | None = None) -> Guild:
    """A guild with #general and #mod-log, the roles Admin (Manage Server) and Mod (Manage
    Messages), the bot's managed role, and the people as members (the bot first)."""
    gid = new_id() if guild_id is None else guild_id
    everyone = Role(gid, "@everyone", EVERYONE_PERMISSIONS)
    admin = Role(new_id(), "Admin", MANAGE_GUILD, position=3)
    mod = Role(new_id(), "Mod", MANAGE_MESSAGES, position=2)
    bot = Role(new_id(), people.bot.name, EVERYONE_PERMISSIONS, position=1, managed=True)
    return Guild(
        id=gid,
        name=name,
        owner_id=people.owner.id,
        roles=[everyone, admin, mod, bot],
        channels=[Channel(new_id(), "general", gid), Channel(new_id(), "mod-log", gid)],
        members=[
            Member(people.bot, (bot.id,)),
            Member(people.owner),
            Member(people.admin, (admin.id,)),
            Member(people.mod, (mod.id,)),
            Member(people.member),
        ],
    )


def user_payload(user: User) -> JSON:
    return {
        "id": str(user.id),
        "username": user.name,
        "global_name": user.name.title(),
        "discriminator": "0",
        "avatar": None,
        "bot": user.bot,
        "public_flags": 0,
    }


def member_payload(
    guild: Guild, user: User, *, with_user: bool = True, with_permissions: bool = False
) -> JSON:
    member = guild.member(user)
    data: JSON = {
        "roles": [str(r) for r in member.role_ids],
        "joined_at": member.joined_at,
        "nick": None,
        "avatar": None,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
    }
    if with_user:
        data["user"] = user_payload(user)
    if with_permissions:
        data["permissions"] = str(guild.permissions(user))
    return data


def role_payload(role: Role) -> JSON:
    return {
        "id": str(role.id),
        "name": role.name,
        "permissions": str(role.permissions),
        "position": role.position,
        "color": 0,
        "hoist": False,
        "managed": role.managed,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }


def channel_payload(channel: Channel, position: int = 0) -> JSON:
    return {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": position,
        "permission_overwrites": [],
        "nsfw": False,
        "topic": None,
        "parent_id": None,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "flags": 0,
    }


def guild_payload(guild: Guild, *, all_members: bool) -> JSON:
    """The GUILD_CREATE body. Without the Guild Presences intent Discord lists only the bot
    (and members in voice channels, which the fake has none of)."""
    members = [m for m in guild.members if all_members or m.user.bot]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "owner_id": str(guild.owner_id),
        "roles": [role_payload(r) for r in guild.roles],
        "channels": [channel_payload(c, i) for i, c in enumerate(guild.channels)],
        "members": [member_payload(guild, m.user) for m in members],
        "member_count": len(guild.members),
        "large": False,
        "unavailable": False,
        "joined_at": guild.members[0].joined_at,
        "features": [],
        "emojis": [],
        "stickers": [],
        "threads": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "system_channel_id": str(guild.channels[0].id),
        "system_channel_flags": 0,
        "preferred_locale": "en-US",
        "afk_timeout": 300,
        "premium_progress_bar_enabled": False,
    }


def application_payload(bot: User, owner: User, flags: int) -> JSON:
    """GET /applications/@me: the bot's application (its id is the bot user's, as usual)."""
    return {
        "id": str(bot.id),
        "name": bot.name,
        "description": "",
        "icon": None,
        "bot_public": False,
        "bot_require_code_grant": False,
        "owner": user_payload(owner),
        "verify_key": "0" * 64,
        "team": None,
        "flags": flags,
        "summary": "",
        "interactions_endpoint_url": None,
        "bot": user_payload(bot),
    }


def message_payload(msg_id: int, channel: Channel, author: User, **fields: Any) -> JSON:
    """A message as REST returns it; `fields` override the defaults."""
    data: JSON = {
        "id": str(msg_id),
        "channel_id": str(channel.id),
        "type": 0,
        "content": "",
        "author": user_payload(author),
        "timestamp": now_iso(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "components": [],
        "pinned": False,
        "flags": 0,
    }
    data.update(fields)
    return data


def apply_message_body(message: JSON, body: JSON, attachments: list[JSON] | None) -> None:
    """Copy what a create/edit body sets onto `message` (ephemeral/loading are not the body's)."""
    for key, empty in (("content", ""), ("embeds", []), ("components", []), ("poll", None)):
        if key in body:
            message[key] = empty if body[key] is None else body[key]
    if "flags" in body:
        kept = message["flags"] & (EPHEMERAL | LOADING)
        message["flags"] = kept | ((body["flags"] or 0) & ~(EPHEMERAL | LOADING))
    if attachments is not None:
        message["attachments"] = attachments


USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
MASS_MENTION = re.compile(r"@(everyone|here)")


def resolve_mentions(message: JSON, body: JSON, guild: Guild, users: Mapping[int, User]) -> None:
    """Set who `message` pings, as Discord works it out: mentions in the content only (never in
    embeds), narrowed by the body's `allowed_mentions`; without one, everything in the content
    pings and a reply pings the replied-to author."""
    if "content" not in body and "allowed_mentions" not in body:
        return  # an edit that leaves the content alone keeps its mentions
    content, allowed = message["content"] or "", body.get("allowed_mentions")

    def may(kind: str, ident: int | None = None) -> bool:
        if allowed is None:
            return True
        return kind in (allowed.get("parse") or []) or str(ident) in map(str, allowed.get(kind) or [])

    members = {m.user.id for m in guild.members}
    pinged = [
        users[i]
        for i in dict.fromkeys(int(i) for i in USER_MENTION.findall(content))
        if i in users and i in members and may("users", i)
    ]
    replied = message.get("referenced_message")
    if replied and (allowed is None or allowed.get("replied_user")):
        author = users.get(int(replied["author"]["id"]))
        if author is not None and author not in pinged:
            pinged.append(author)
    roles = {r.id for r in guild.roles if r.id != guild.id}
    message["mentions"] = [
        {**user_payload(u), "member": member_payload(guild, u, with_user=False)} for u in pinged
    ]
    message["mention_roles"] = [
        r for r in dict.fromkeys(ROLE_MENTION.findall(content)) if int(r) in roles and may("roles", int(r))
    ]
    message["mention_everyone"] = bool(MASS_MENTION.search(content)) and may("everyone")


EMBED_LIMITS = {"title": 256, "description": 4096}


def message_problem(body: JSON, *, has_files: bool, edit: bool = False) -> str | None:
    """Why Discord would refuse this message body (its documented limits), or None."""
    content = body.get("content") or ""
    if len(content) > 2000:
        return f"content is {len(content)} characters, the limit is 2000"
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        return f"{len(embeds)} embeds, the limit is 10"
    total = 0
    for i, embed in enumerate(embeds):
        for key, limit in EMBED_LIMITS.items():
            size = len(embed.get(key) or "")
            total += size
            if size > limit:
                return f"embeds[{i}].{key} is {size} characters, the limit is {limit}"
        fields = embed.get("fields") or []
        if len(fields) > 25:
            return f"embeds[{i}] has {len(fields)} fields, the limit is 25"
        for j, f in enumerate(fields):
            total += len(f.get("name", "")) + len(f.get("value", ""))
            if len(f.get("name", "")) > 256 or len(f.get("value", "")) > 1024:
                return f"embeds[{i}].fields[{j}] is over 256 (name) or 1024 (value) characters"
        for part, key, limit in (("footer", "text", 2048), ("author", "name", 256)):
            size = len((embed.get(part) or {}).get(key) or "")
            total += size
            if size > limit:
                return f"embeds[{i}].{part}.{key} is {size} characters, the limit is {limit}"
    if total > 6000:
        return f"embeds hold {total} characters in all, the limit is 6000"
    empty = not (
        content
        or embeds
        or has_files
        or body.get("components")
        or body.get("poll")
        or body.get("attachments")
        or body.get("sticker_ids")
    )
    if empty and not edit:
        return "Cannot send an empty message"
    return None
