"""The Discord client: holds the engine, the query log and the settings; the cogs do the work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from newsbot.bot.cogs import COGS
from newsbot.bot.errors import on_app_command_error
from newsbot.settings import Settings

if TYPE_CHECKING:
    from newsbot.engine import Engine
    from newsbot.querylog import QueryLog

log = logging.getLogger(__name__)


def intents() -> discord.Intents:
    """No privileged intents: mentions carry their content without Message Content."""
    chosen = discord.Intents.default()
    chosen.members = chosen.presences = chosen.message_content = False
    return chosen


class NewsBot(commands.Bot):
    """newsbot on Discord. Slash commands and mentions only; it never pings anyone.

    The engine and query log may be attached after construction, so `newsbot run` can
    check the token (fast) before opening the index (slow), and `newsbot sync` never
    opens it at all.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        querylog: QueryLog | None = None,
        sync_global: bool = False,
    ) -> None:
        # newsbot never joins voice: discord.py's warnings that voice libraries are missing
        # would only bury the one line that matters (say, a rejected token).
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.settings = settings
        self._engine = engine
        self._querylog = querylog
        self.sync_global = sync_global
        self.synced: list[app_commands.AppCommand] = []
        # Set by a feedback cog: the buttons under an answer, given its query-log row id.
        self.answer_view: Callable[[int], discord.ui.View] | None = None
        self.tree.error(on_app_command_error)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the engine is not attached yet")
        return self._engine

    @property
    def querylog(self) -> QueryLog:
        if self._querylog is None:
            raise RuntimeError("the query log is not attached yet")
        return self._querylog

    def attach(self, engine: Engine, querylog: QueryLog) -> None:
        """Give the bot its engine and query log, before it connects to the gateway."""
        self._engine, self._querylog = engine, querylog

    async def setup_hook(self) -> None:
        for cog in COGS:
            await self.add_cog(cog(self))
        self.synced = await self.sync_commands()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Push the slash commands: to the dev guild when set (instant), else globally if asked."""
        if self.settings.dev_guild_id:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to guild %s", len(synced), guild.id)
            return synced
        if self.sync_global:
            synced = await self.tree.sync()
            log.info("Synced %d global commands (may take a while to appear)", len(synced))
            return synced
        return []

    async def on_ready(self) -> None:
        log.info(
            "Logged in as %s (%s) in %d server(s)",
            self.user,
            self.user.id if self.user else "?",
            len(self.guilds),
        )

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: mentions are answered by the Ask cog's listener."""
