"""The Discord client: holds the engine, the query log and the settings; the cogs do the work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from newsbot.bot.cogs import COGS
from newsbot.bot.cogs.admin import HOME_ONLY
from newsbot.bot.errors import on_app_command_error
from newsbot.settings import Settings

if TYPE_CHECKING:
    from newsbot.engine import Engine
    from newsbot.querylog import QueryLog
    from newsbot.watches import Watches

log = logging.getLogger(__name__)


def intents() -> discord.Intents:
    """No privileged intents: mentions carry their content without Message Content."""
    chosen = discord.Intents.default()
    chosen.members = chosen.presences = chosen.message_content = False
    return chosen


class GuildTree(app_commands.CommandTree["NewsBot"]):
    """The command tree: only interactions from a server the bot is in are served (a command
    installed to a user, or a server that removed the bot, gets a short refusal)."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if interaction.guild_id is not None and self.client.get_guild(interaction.guild_id) is not None:
            return True
        log.info("Refused an interaction from outside my servers (guild %s)", interaction.guild_id)
        if interaction.type is not discord.InteractionType.autocomplete:
            await interaction.response.send_message(
                "newsbot only works in the servers it has joined.", ephemeral=True
            )
        return False


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
        **sharding: Any,
    ) -> None:
        # newsbot never joins voice: discord.py's warnings that voice libraries are missing
        # would only bury the one line that matters (say, a rejected token).
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            tree_cls=GuildTree,
            # Every command: installed to servers only and run in servers only.
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=False, private_channel=False
            ),
            **sharding,
        )
        self.settings = settings
        self._engine = engine
        self._querylog = querylog
        self.watches: Watches | None = None  # set by `newsbot run`; /watch reads and changes it
        self.sync_global = sync_global
        self.synced: list[app_commands.AppCommand] = []
        # Set by a feedback cog: the buttons under an answer, given its query-log row id.
        self.answer_view: Callable[[int], discord.ui.View] | None = None
        self._reviewed: dict[int, None] = {}  # query-log rows posted to the mod channel, oldest first
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
        self.move_home_commands()
        self.synced = await self.sync_commands()

    def move_home_commands(self) -> None:
        """The operator's commands (`extras[HOME_ONLY]`) exist in the home server only, and not
        at all without NEWSBOT_HOME_GUILD_ID."""
        home = self.settings.home_guild_id
        for command in list(self.tree.get_commands()):
            if not command.extras.get(HOME_ONLY):
                continue
            self.tree.remove_command(command.name)
            if home is None:
                log.info("NEWSBOT_HOME_GUILD_ID is not set: /%s is off", command.name)
            else:
                self.tree.add_command(command, guild=discord.Object(id=home))

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Push the slash commands: to the dev guild when set (instant), else globally if asked;
        the home server's own commands to it."""
        home = self.settings.home_guild_id
        if self.settings.dev_guild_id:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to guild %s", len(synced), guild.id)
            if home is not None and home != guild.id:
                synced += await self.tree.sync(guild=discord.Object(id=home))
            return synced
        if self.sync_global:
            synced = await self.tree.sync()
            log.info("Synced %d global commands (may take a while to appear)", len(synced))
            if home is not None:
                synced += await self.tree.sync(guild=discord.Object(id=home))
            return synced
        return []

    def review_once(self, row_id: int) -> bool:
        """True the first time a row is to be posted for review, False ever after (the last
        100,000 rows are remembered)."""
        if row_id in self._reviewed:
            return False
        self._reviewed[row_id] = None
        if len(self._reviewed) > 100_000:
            del self._reviewed[next(iter(self._reviewed))]
        return True

    async def on_ready(self) -> None:
        roles = self.settings.admin_role_ids | self.settings.mod_role_ids
        for guild in self.guilds:
            if guild.id in roles:  # checks.py never counts it; say so once
                log.error(
                    "A role id in NEWSBOT_ADMIN_ROLE_IDS/NEWSBOT_MOD_ROLE_IDS is server %s's own id "
                    "(its @everyone role): it is ignored; remove it.",
                    guild.id,
                )
        log.info(
            "Logged in as %s (%s) in %d server(s)",
            self.user,
            self.user.id if self.user else "?",
            len(self.guilds),
        )

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: mentions are answered by the Ask cog's listener."""


class ShardedNewsBot(NewsBot, commands.AutoShardedBot):
    """newsbot over several gateway connections (shards): this process serves the shards
    NEWSBOT_SHARD_IDS (all when empty) of NEWSBOT_SHARD_COUNT (0: Discord's recommended count);
    Discord sends each shard the guilds with `(guild_id >> 22) % shard_count` equal to its id."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            settings,
            shard_count=settings.shard_count or None,
            shard_ids=sorted(settings.shard_ids) or None,
            **kwargs,
        )


def make_bot(settings: Settings, **kwargs: Any) -> NewsBot:
    """The sharded client when NEWSBOT_SHARD_COUNT is set, else one plain connection."""
    if settings.shard_count is None:
        return NewsBot(settings, **kwargs)
    return ShardedNewsBot(settings, **kwargs)
