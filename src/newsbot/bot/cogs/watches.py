"""Watches in Discord: `/watch add|list|remove|mute|resume`.

A member may watch into their own DMs; pointing a watch at a channel needs Manage Channels
(server-wide) or a watch role (`checks.watch_into_channel`). Every reply is private, every read and
change is scoped to the server the command runs in, and the store is used from a worker thread.
The posts themselves are made by the delivery loop (`bot/deliveries.py`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from newsbot.bot.checks import Refused, may_change_watch, may_moderate, watch_into_channel
from newsbot.bot.choices import matching
from newsbot.bot.embeds.watchrender import added_text, named, watches_embed
from newsbot.bot.limits import CONTENT, fit
from newsbot.corpus.scope import Scope
from newsbot.errors import NewsbotError
from newsbot.watches import BadWatch, Mode, Watch, Watches, parse_duration
from newsbot.watches.records import utcnow
from newsbot.watches.watchlist import MAX_QUERY_CHARS

if TYPE_CHECKING:
    from newsbot.bot.client import NewsBot

SOURCE_CHARS = 100
DURATION_CHARS = 10
WATCH_ID = app_commands.Range[int, 1, 2**53]
MAX_PER_MEMBER = 25  # watches one member may add in one server: each is a post stream to look after


class WatchCommands(commands.Cog):
    """Standing queries: be told when new articles match."""

    watch = app_commands.Group(
        name="watch", description="Be told when new articles match a query", guild_only=True
    )

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    @property
    def watches(self) -> Watches:
        if self.bot.watches is None:
            raise NewsbotError("Watches are not available in this process; try again later.")
        return self.bot.watches

    @watch.command(name="add")
    @app_commands.describe(
        query="What to watch for, in a few words (people, places, topics)",
        channel="Post into this channel (needs Manage Channels or a watch role); empty: DM me",
        mode="A post per new article (instant), or one digest a day (daily)",
        source="Only articles from this news source",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, MAX_QUERY_CHARS],
        channel: discord.TextChannel | None = None,
        mode: Literal["instant", "daily"] = "instant",
        source: app_commands.Range[str, 1, SOURCE_CHARS] | None = None,
    ) -> None:
        """Watch the news for a query: new matching articles are posted to a channel or your DMs."""
        if channel is not None:
            watch_into_channel(interaction)
            _check_postable(channel, interaction.guild_id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        watch = await asyncio.to_thread(
            self._add,
            query,
            Mode(mode),
            source=source,
            guild_id=interaction.guild_id,
            channel_id=channel.id if channel is not None else None,
            user_id=interaction.user.id,
        )
        await interaction.edit_original_response(content=added_text(watch))

    def _add(self, query: str, mode: Mode, *, guild_id: int | None, user_id: int, **where: Any) -> Watch:
        """Add the watch unless the member has `MAX_PER_MEMBER` in this server already."""
        if len(self.watches.list_watches(guild_id, user_id)) >= MAX_PER_MEMBER:
            raise BadWatch(
                f"You have {MAX_PER_MEMBER} watches in this server, the most one member may have: "
                "remove one first (/watch list shows them)."
            )
        return self.watches.add(query, mode, guild_id=guild_id, user_id=user_id, **where)

    @add.autocomplete("source")
    async def _sources(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return matching(current, self.bot.engine.sources(Scope(interaction.guild_id)))

    @watch.command(name="list")
    async def list_watches(self, interaction: discord.Interaction) -> None:
        """The server's watches: yours, or every one for moderators."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        everyone = may_moderate(interaction)
        found = await asyncio.to_thread(
            self.watches.list_watches, interaction.guild_id, None if everyone else interaction.user.id
        )
        await interaction.edit_original_response(embed=watches_embed(found, utcnow(), everyone))

    @watch.command(name="remove")
    @app_commands.describe(watch_id="The watch's number (the # in /watch list)")
    async def remove(self, interaction: discord.Interaction, watch_id: WATCH_ID) -> None:
        """Stop a watch for good."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        watch = await self._changeable(interaction, watch_id)
        await asyncio.to_thread(self.watches.remove, interaction.guild_id, watch.id)
        await self._say(interaction, f"Watch {named(watch)} removed.")

    @watch.command(name="mute")
    @app_commands.rename(for_="for")
    @app_commands.describe(
        watch_id="The watch's number (the # in /watch list)",
        for_="How long: 30m, 2h, 3d or 1w (empty: until /watch resume)",
    )
    async def mute(
        self,
        interaction: discord.Interaction,
        watch_id: WATCH_ID,
        for_: app_commands.Range[str, 1, DURATION_CHARS] | None = None,
    ) -> None:
        """Hold a watch's posts for a while; stories found meanwhile are not posted later."""
        duration = parse_duration(for_) if for_ else None  # a bad duration is refused at once
        await interaction.response.defer(ephemeral=True, thinking=True)
        watch = await self._changeable(interaction, watch_id)
        muted = await asyncio.to_thread(self.watches.mute, interaction.guild_id, watch.id, duration)
        until = (
            f"until <t:{int(muted.muted_until.timestamp())}:f>"
            if duration and muted.muted_until
            else "until /watch resume"
        )
        await self._say(interaction, f"Watch {named(muted)} muted {until}.")

    @watch.command(name="resume")
    @app_commands.describe(watch_id="The watch's number (the # in /watch list)")
    async def resume(self, interaction: discord.Interaction, watch_id: WATCH_ID) -> None:
        """Unmute a watch, or restart one paused because its posts were refused."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        watch = await self._changeable(interaction, watch_id)
        await asyncio.to_thread(self.watches.resume, interaction.guild_id, watch.id)
        await self._say(interaction, f"Watch {named(watch)} is running again.")

    async def _changeable(self, interaction: discord.Interaction, watch_id: int) -> Watch:
        """The server's watch `watch_id`, if this member may change it (else Refused)."""
        watch = await asyncio.to_thread(self.watches.get, interaction.guild_id, watch_id)
        if not may_change_watch(interaction, watch.user_id, watch.channel_id is not None):
            raise Refused(
                f"Watch #{watch.id} is someone else's: only they, moderators and (for a channel's "
                "watch) members with Manage Channels can change it."
            )
        return watch

    @staticmethod
    async def _say(interaction: discord.Interaction, text: str) -> None:
        await interaction.edit_original_response(content=fit(text, CONTENT))


def _check_postable(channel: discord.TextChannel, guild_id: int | None) -> None:
    """Refuse a channel of another server, or one the bot cannot post embeds in."""
    if channel.guild.id != guild_id:
        raise Refused("That channel is not in this server.")
    me = channel.guild.me
    if me is None:
        return
    allowed = channel.permissions_for(me)
    if not (allowed.view_channel and allowed.send_messages and allowed.embed_links):
        raise Refused(
            f"I cannot post in {channel.mention}: give me View Channel, Send Messages and "
            "Embed Links there, or pick another channel."
        )
