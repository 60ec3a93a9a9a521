"""Following RSS/Atom feeds from Discord: `/feeds add|list|remove|status`, for server admins.

A feed belongs to whoever adds it, as `/corpus` content does: in the home server
(`NEWSBOT_HOME_GUILD_ID`) it is the operator's, answerable in every server; anywhere else it is
that server's, its articles written under the server's corpus folder and answerable there only.
Each server sees and removes only its own feeds, and may follow at most `NEWSBOT_FEEDS_PER_GUILD`
(the home server is the operator's, as the CLI, and is not limited). The leading `newsbot run`
process polls them (`bot/background.py`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from newsbot.bot.checks import is_admin, may_administer
from newsbot.bot.choices import MAX_CHOICES
from newsbot.bot.limits import CONTENT, FIELD_NAME, FIELDS, code, escape, fit, fit_embed
from newsbot.errors import NewsbotError
from newsbot.feeds.fetch import Fetcher
from newsbot.feeds.poller import Subscribed, subscribe
from newsbot.feeds.schedule import parse_every
from newsbot.feeds.store import FeedRecord, FeedStore, open_feed_store

if TYPE_CHECKING:
    from newsbot.bot.client import NewsBot

URL_CHARS = 2000
REF_CHARS = 200
LISTED_BY = "`/feeds list`"


class TooManyFeeds(NewsbotError):
    """The server follows as many feeds as it may."""


class Feeds(commands.Cog):
    """Feeds a server follows."""

    feeds = app_commands.Group(
        name="feeds",
        description="Follow RSS/Atom news feeds (admins)",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self._store: FeedStore | None = None

    async def cog_load(self) -> None:
        self._store = await asyncio.to_thread(open_feed_store, self.bot.settings)

    async def cog_unload(self) -> None:
        if self._store is not None:
            self._store.close()

    @property
    def store(self) -> FeedStore:
        assert self._store is not None, "the Feeds cog is not loaded"
        return self._store

    @feeds.command(name="add")
    @is_admin()
    @app_commands.describe(
        url="The feed's address (http or https), e.g. https://example.org/rss.xml",
        every="How often to look for new articles: 30m, 2h, 1d (at least 10m; default 30m)",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 1, URL_CHARS],
        every: app_commands.Range[str, 1, 20] = "30m",
    ) -> None:
        """Follow a news feed: it is fetched and read once now to check it (admins)."""
        interval = parse_every(every)
        owner = self._owner(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        limit = self.bot.settings.feeds_per_guild
        if owner is not None:
            count = len(await asyncio.to_thread(self.store.feeds, owner, every_owner=False))
            if count >= limit:
                raise TooManyFeeds(
                    f"This server already follows {count} feeds, the most it may ({limit}); "
                    "`/feeds remove` one first."
                )
        allow_private, store = self.bot.settings.feeds_allow_private, self.store

        async def check_and_follow() -> Subscribed:  # on a loop of its own: parsing takes a while
            async with Fetcher(allow_private=allow_private) as fetcher:
                return await subscribe(store, fetcher, url.strip(), every=interval, owner_guild_id=owner)

        done = await asyncio.to_thread(asyncio.run, check_and_follow())
        self.bot.dispatch("feed_added", done.feed)
        where = "in every server" if owner is None else "in this server only"
        await interaction.edit_original_response(
            content=fit(
                f"Following “{escape(done.feed.title or done.feed.name)}” (#{done.feed.id}, "
                f"{done.items} item{'' if done.items == 1 else 's'} now), every {_every(done.feed)}. "
                "Its articles are answerable "
                f"{where} within minutes.",
                CONTENT,
            )
        )

    @feeds.command(name="list")
    @is_admin()
    async def list_feeds(self, interaction: discord.Interaction) -> None:
        """The feeds this server follows (admins)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        owned = await asyncio.to_thread(self.store.feeds, self._owner(interaction), every_owner=False)
        lines = [
            f"#{f.id} **{escape(f.name)}** {code(f.url)} every {_every(f)}"
            + ("" if f.enabled else f", off: {escape(f.disabled_reason or '')}")
            for f in owned
        ]
        text = "\n".join(lines) if lines else "No feeds yet: `/feeds add url` follows one."
        await interaction.edit_original_response(content=fit(text, CONTENT))

    @feeds.command(name="remove")
    @is_admin()
    @app_commands.describe(feed="The feed's number, name or address (see /feeds list)")
    async def remove(
        self, interaction: discord.Interaction, feed: app_commands.Range[str, 1, REF_CHARS]
    ) -> None:
        """Stop following a feed; the articles it brought stay answerable (admins)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        found = await asyncio.to_thread(self._find, interaction, feed)
        gone = await asyncio.to_thread(self.store.remove, found.id)
        await interaction.edit_original_response(
            content=fit(f"Stopped following “{escape(gone.name)}” (#{gone.id}).", CONTENT)
        )

    @feeds.command(name="status")
    @is_admin()
    @app_commands.describe(feed="One feed's number, name or address (default: every feed)")
    async def status(
        self, interaction: discord.Interaction, feed: app_commands.Range[str, 1, REF_CHARS] | None = None
    ) -> None:
        """Last poll, its result, next poll, articles and errors in a row of each feed (admins)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        embed = await asyncio.to_thread(self._status_embed, interaction, feed)
        await interaction.edit_original_response(embed=embed)

    @remove.autocomplete("feed")
    @status.autocomplete("feed")
    async def _feed_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if not may_administer(interaction):
            return []
        typed = current.casefold().strip()
        owned = await asyncio.to_thread(self.store.feeds, self._owner(interaction), every_owner=False)
        return [
            app_commands.Choice(name=fit(f"#{f.id} {f.name}", 100), value=str(f.id))
            for f in owned
            if typed in f"#{f.id} {f.name} {f.url}".casefold()
        ][:MAX_CHOICES]

    def _owner(self, interaction: discord.Interaction) -> int | None:
        """Whose feeds a command acts on: the operator's in the home server, else the server's."""
        guild = interaction.guild_id
        return None if guild is None or guild == self.bot.settings.home_guild_id else guild

    def _find(self, interaction: discord.Interaction, ref: str) -> FeedRecord:
        ref = ref.strip().removeprefix("#")
        return self.store.find(ref, self._owner(interaction), every_owner=False, listed_by=LISTED_BY)

    def _status_embed(self, interaction: discord.Interaction, ref: str | None) -> discord.Embed:
        owner = self._owner(interaction)
        chosen = [self._find(interaction, ref)] if ref else self.store.feeds(owner, every_owner=False)
        embed = discord.Embed(title="Feeds", colour=discord.Colour.blurple())
        if not chosen:
            embed.description = "No feeds yet: `/feeds add url` follows one."
        for f in chosen[:FIELDS]:
            nxt = _when(f.next_poll_at) if f.enabled else f"off ({escape(f.disabled_reason or '')})"
            embed.add_field(
                name=fit(f"#{f.id} {f.name}", FIELD_NAME),
                value=(
                    f"last poll: {_when(f.last_poll_at)} · {escape(f.last_result or 'not polled yet')}\n"
                    f"next poll: {nxt} · articles: {self.store.articles(f.id)} · "
                    f"errors in a row: {f.errors}"
                ),
                inline=False,
            )
        if len(chosen) > FIELDS:
            embed.set_footer(text=f"…and {len(chosen) - FIELDS} more: /feeds status feed shows one.")
        return fit_embed(embed)


def _every(feed: FeedRecord) -> str:
    minutes = feed.every_seconds // 60
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def _when(when: datetime | None) -> str:
    return discord.utils.format_dt(when, "R") if when else "never"
