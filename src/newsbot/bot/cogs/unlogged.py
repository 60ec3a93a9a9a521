"""Questions the query log could not take: retried every few seconds, and the moderators told once
per outage (the rows themselves wait in `querylog/buffer.py`)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands, tasks

from newsbot.querylog.buffer import BufferedQueryLog

if TYPE_CHECKING:
    from newsbot.bot.client import NewsBot

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0


class Unlogged(commands.Cog):
    """No commands: a loop that writes waiting query-log rows and reports an outage."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.told = 0  # outages the mod channel has heard of

    async def cog_load(self) -> None:
        self.retry_loop.change_interval(seconds=RETRY_SECONDS)  # read now, so a test can shorten it
        if not self.retry_loop.is_running():
            self.retry_loop.start()

    async def cog_unload(self) -> None:
        self.retry_loop.cancel()

    @tasks.loop(seconds=RETRY_SECONDS)
    async def retry_loop(self) -> None:
        await self.retry()

    async def retry(self) -> int:
        """Write what waits (the query log may not be attached yet); tell the moderators of a new
        outage. How many rows were written."""
        try:
            querylog = self.bot.querylog
        except RuntimeError:  # not attached yet
            return 0
        if not isinstance(querylog, BufferedQueryLog):
            return 0
        if querylog.outages > self.told:
            self.told = querylog.outages
            await self.tell(querylog)
        if not querylog.unwritten().waiting:
            return 0
        return await asyncio.to_thread(querylog.retry)

    async def tell(self, querylog: BufferedQueryLog) -> None:
        """One message in the mod channel, if there is one; never raises."""
        channel_id = self.bot.settings.mod_channel_id
        if not channel_id:
            return
        text = (
            f"⚠️ The query log cannot be written ({querylog.problem or 'unknown error'}). Questions "
            f"are still answered; up to {querylog.capacity:,} of their log rows wait in memory and "
            f"are retried every {RETRY_SECONDS:g} s. Past that the oldest are dropped and counted "
            "in `/logs stats`. Check the disk or the database."
        )
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
            if isinstance(channel, discord.abc.Messageable):
                await channel.send(text[:2000], allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            log.warning("Could not tell the mod channel %s about the query log: %s", channel_id, exc)
