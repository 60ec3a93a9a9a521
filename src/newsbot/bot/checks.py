"""Who may run the admin and moderator commands.

`default_permissions` only hides a command in the client and server admins can change
it, so every privileged command also carries one of these real checks, run by the bot.
Rights are the member's server-level permissions (their roles), never `interaction.permissions`,
which a single channel's overwrite can raise; the @everyone role (its id is the server's) never
counts as a configured role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

if TYPE_CHECKING:
    from newsbot.settings import Settings

T = TypeVar("T")


class Refused(app_commands.CheckFailure):
    """A check said no; the message tells the user why."""


def _settings(interaction: discord.Interaction) -> Settings:
    settings: Settings = interaction.client.settings  # type: ignore[attr-defined]
    return settings


def _has_role(interaction: discord.Interaction, role_ids: frozenset[int]) -> bool:
    user = interaction.user
    return isinstance(user, discord.Member) and any(
        r.id in role_ids and r.id != interaction.guild_id for r in user.roles
    )


def _guild_permissions(interaction: discord.Interaction) -> discord.Permissions:
    """The member's server-wide permissions, from their roles: no channel overwrite counts."""
    user = interaction.user
    return user.guild_permissions if isinstance(user, discord.Member) else discord.Permissions.none()


def may_administer(interaction: discord.Interaction) -> bool:
    """Manage Server, or one of the configured admin roles."""
    if interaction.guild is None:
        return False
    perms = _guild_permissions(interaction)
    return (
        perms.manage_guild
        or perms.administrator
        or _has_role(interaction, _settings(interaction).admin_role_ids)
    )


def may_moderate(interaction: discord.Interaction) -> bool:
    """Manage Messages, or a moderator or admin role (admins can moderate)."""
    if interaction.guild is None:
        return False
    roles = _settings(interaction).mod_role_ids
    return (
        _guild_permissions(interaction).manage_messages
        or may_administer(interaction)
        or _has_role(interaction, roles)
    )


def may_watch_channels(interaction: discord.Interaction) -> bool:
    """Manage Channels (server-wide), or an admin or watch role (`NEWSBOT_WATCH_ROLE_IDS`): who may
    point a watch at a channel. Anyone may watch into their own DMs."""
    if interaction.guild is None:
        return False
    perms = _guild_permissions(interaction)
    return (
        perms.manage_channels
        or may_administer(interaction)
        or _has_role(interaction, _settings(interaction).watch_role_ids)
    )


def watch_into_channel(interaction: discord.Interaction) -> None:
    """Refuse a member who may not point a watch at a channel (see `may_watch_channels`)."""
    if not may_watch_channels(interaction):
        raise Refused(
            "Only members with Manage Channels or a watch role can post a watch into a channel. "
            "Leave `channel` empty to be told by DM instead."
        )


def may_change_watch(interaction: discord.Interaction, owner_id: int | None, into_channel: bool) -> bool:
    """Who may mute, resume or remove a watch: whoever added it, a moderator, and for a watch
    posting into a channel, whoever may point watches at channels."""
    return (
        (owner_id is not None and interaction.user.id == owner_id)
        or may_moderate(interaction)
        or (into_channel and may_watch_channels(interaction))
    )


def in_home_guild(interaction: discord.Interaction) -> bool:
    home = _settings(interaction).home_guild_id
    return home is not None and interaction.guild_id == home


def is_admin() -> Callable[[T], T]:
    """Check: Manage Server or an admin role. Pair with `default_permissions(manage_guild=True)`."""

    def predicate(interaction: discord.Interaction[Any]) -> bool:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage()
        if not may_administer(interaction):
            raise Refused("Only server admins can do this: you need Manage Server or an admin role.")
        return True

    return app_commands.check(predicate)


def is_mod() -> Callable[[T], T]:
    """Check: Manage Messages or a moderator role. Pair with `default_permissions(manage_messages=True)`."""

    def predicate(interaction: discord.Interaction[Any]) -> bool:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage()
        if not may_moderate(interaction):
            raise Refused("Only moderators can do this: you need Manage Messages or a moderator role.")
        return True

    return app_commands.check(predicate)


def is_operator() -> Callable[[T], T]:
    """Check: an admin of the home server (NEWSBOT_HOME_GUILD_ID), who manages the operator's
    corpus. The command is registered there only; this check holds if it is run elsewhere."""

    def predicate(interaction: discord.Interaction[Any]) -> bool:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage()
        if not in_home_guild(interaction):
            raise Refused("Only the bot's home server can do this.")
        if not may_administer(interaction):
            raise Refused("Only server admins can do this: you need Manage Server or an admin role.")
        return True

    return app_commands.check(predicate)
