"""Who may run the admin and moderator commands.

`default_permissions` only hides a command in the client and server admins can change
it, so every privileged command also carries one of these real checks, run by the bot.
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
    return isinstance(user, discord.Member) and any(r.id in role_ids for r in user.roles)


def may_administer(interaction: discord.Interaction) -> bool:
    """Manage Server, or one of the configured admin roles."""
    if interaction.guild is None:
        return False
    perms = interaction.permissions
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
        interaction.permissions.manage_messages
        or may_administer(interaction)
        or _has_role(interaction, roles)
    )


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
