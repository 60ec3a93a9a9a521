"""Who may point a watch at a channel, and who may change a watch: server-wide rights only."""

from __future__ import annotations

import discord
import pytest

from newsbot.bot.checks import Refused, may_change_watch, may_watch_channels, watch_into_channel
from newsbot.settings import Settings
from tests.bot.support import interaction

SETTINGS = Settings(
    admin_role_ids=frozenset({10}), mod_role_ids=frozenset({20}), watch_role_ids=frozenset({30})
)


def member(manage_channels: bool = False, **kwargs: object) -> discord.Interaction:
    inter = interaction(settings=SETTINGS, **kwargs)  # type: ignore[arg-type]
    if manage_channels:
        inter.user.guild_permissions = discord.Permissions(manage_channels=True)
    return inter


@pytest.mark.parametrize(
    "kwargs", [{"manage_channels": True}, {"manage_guild": True}, {"role_ids": (30,)}, {"role_ids": (10,)}]
)
def test_manage_channels_admins_and_watch_roles_may_watch_into_channels(kwargs: dict[str, object]) -> None:
    assert may_watch_channels(member(**kwargs))  # type: ignore[arg-type]


def test_a_channel_overwrite_a_moderator_role_or_the_everyone_role_do_not_count() -> None:
    overwritten = member()
    overwritten.permissions = discord.Permissions(manage_channels=True)  # one channel's overwrite
    everyone = interaction(
        settings=Settings(watch_role_ids=frozenset({99})), role_ids=(99,)
    )  # the guild's id
    for inter in (overwritten, member(role_ids=(20,)), member(manage_messages=True), everyone):
        assert not may_watch_channels(inter)
        with pytest.raises(Refused, match="Manage Channels"):
            watch_into_channel(inter)


def test_a_watch_is_changed_by_its_owner_moderators_and_for_channels_channel_managers() -> None:
    owner, stranger = member(user_id=7), member(user_id=8)
    assert may_change_watch(owner, 7, into_channel=False)
    assert not may_change_watch(stranger, 7, into_channel=False)
    assert may_change_watch(member(manage_messages=True), 7, into_channel=False)
    assert may_change_watch(member(role_ids=(30,)), 7, into_channel=True)
    assert not may_change_watch(member(role_ids=(30,)), 7, into_channel=False)
