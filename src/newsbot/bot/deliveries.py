"""The delivery loop: watches' matches posted to Discord, by the leading process only.

Every `TICK` seconds the loop takes or keeps the deliveries' lead (`newsbot.leader.DELIVERIES`, bot
processes only); while this process leads:
- when the live index version changed since its last look, `Watches.check` matches the articles
  that version brought in, whoever indexed them (/reindex, `newsbot index`, the feed poller);
  `Engine.follow` swaps the engine to another process's version within a second;
- it posts the instant matches waiting (`Watches.pending`), each to its watch's channel or the DMs
  of whoever added it;
- once a day at `DIGEST_HOUR` UTC it posts the digests (daily watches, and what the hourly cap
  held back).
A refused post (closed DMs, a channel the bot may no longer write in) pauses the watch
(`Watches.mark_failed`), and the server is told once. Nothing pings: no post allows mentions.
Operator watches (no server) are the CLI's (`newsbot watches check`) and are left alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord

from newsbot.bot.embeds.watchrender import digest_embed, match_embed, paused_text
from newsbot.errors import NewsbotError
from newsbot.leader import DELIVERIES, Leadership, leadership
from newsbot.settings import Settings
from newsbot.watches import Digest, Match, Watch, Watches
from newsbot.watches.quote import quote
from newsbot.watches.records import utcnow

if TYPE_CHECKING:
    from newsbot.bot.client import NewsBot

log = logging.getLogger(__name__)
TICK = 2.0  # seconds between looks at the index version and the waiting posts
LEAD_EVERY = 15.0  # seconds between tries to take the lead while another process holds it
DIGEST_HOUR = 8  # the daily digest, at this hour UTC
NONE = discord.AllowedMentions.none()


class Undeliverable(Exception):
    """A post that can never be made as the watch stands; the message says why."""


def digest_due(last: datetime, now: datetime) -> bool:
    """Whether a digest hour (`DIGEST_HOUR`:00 UTC) passed after `last`, up to `now`."""
    boundary = now.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if boundary > now:
        boundary -= timedelta(days=1)
    return last < boundary <= now


class Deliveries:
    """The loop of one bot process; `run` until cancelled."""

    def __init__(
        self,
        bot: NewsBot,
        watches: Watches,
        lead: Leadership,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.bot, self.watches, self.lead, self.clock = bot, watches, lead, clock
        self._checked: str | None = None  # the index version last checked
        self._last_digest = clock()
        self._next_try = 0.0  # monotonic time of the next try to lead

    async def run(self) -> None:
        # Matching starts at once, before the gateway is ready: the first check takes what is
        # indexed as the backlog, and must do so before a feed poll can index anything newer.
        while True:
            try:
                await self.tick()
            except Exception:  # the loop must outlive any one failed round
                log.exception("A round of watch deliveries failed; the next one retries")
            await asyncio.sleep(TICK)

    async def tick(self) -> None:
        if not await self._leads():
            return
        await self.check()
        if not self.bot.is_ready():  # posting needs the gateway; matching does not
            return
        await self.deliver()
        now = self.clock()
        if digest_due(self._last_digest, now):
            await self.post_digests()
            self._last_digest = now

    async def _leads(self) -> bool:
        if self.lead.held:
            return await asyncio.to_thread(self.lead.try_acquire)  # a lost database lock shows here
        if time.monotonic() < self._next_try:
            return False
        leads = await asyncio.to_thread(self.lead.try_acquire)
        if not leads:
            self._next_try = time.monotonic() + LEAD_EVERY
        return leads

    async def check(self) -> None:
        """Match what the live index brought in since the last check (once per version)."""
        try:
            index = self.bot.engine.index
        except NewsbotError:  # no index yet
            return
        if index.version == self._checked:
            return
        report = await asyncio.to_thread(self.watches.check, index)
        self._checked = index.version
        if report.backlog:
            log.info("Watches: %d indexed articles taken as already seen.", report.looked_at)
        elif report.matches:
            log.info(
                "Watches: %d new or changed articles, %d matches.", report.looked_at, len(report.matches)
            )

    async def deliver(self) -> None:
        """Post the waiting instant matches of the servers' running watches, oldest first."""
        paused: set[int] = set()
        for match in await asyncio.to_thread(self.watches.pending):
            watch = match.watch
            if watch.guild_id is None or watch.paused or watch.id in paused:
                continue
            if self.bot.get_guild(watch.guild_id) is None:  # unavailable, or the bot was removed
                continue
            embed = await asyncio.to_thread(self._match_embed, match)
            if await self._post(watch, match.id, embed=embed):
                await asyncio.to_thread(self.watches.mark_delivered, [match.id])
            elif (await asyncio.to_thread(self.watches.get, None, watch.id)).paused:
                paused.add(watch.id)

    async def post_digests(self) -> None:
        """One digest post per server watch with something in it (muted ones wait)."""
        now = self.clock()
        for digest in await asyncio.to_thread(self.watches.digests):
            watch = digest.watch
            if watch.guild_id is None or watch.muted(now) or self.bot.get_guild(watch.guild_id) is None:
                continue
            embed = await asyncio.to_thread(self._digest_embed, digest)
            if await self._post(watch, digest.match_ids[0], embed=embed):
                await asyncio.to_thread(self.watches.mark_delivered, digest.match_ids)

    def _match_embed(self, match: Match) -> discord.Embed:
        return match_embed(match, quote(match, self.watches.analyzer))

    def _digest_embed(self, digest: Digest) -> discord.Embed:
        return digest_embed(digest, [quote(m, self.watches.analyzer) for m in digest.matches])

    async def _post(self, watch: Watch, match_id: int, **content: Any) -> bool:
        """Post for `watch`; True when posted. A refusal pauses the watch (recorded on `match_id`)
        and tells its server; a passing failure (Discord down) is retried next round."""
        try:
            destination = await self._destination(watch)
            await destination.send(allowed_mentions=NONE, **content)
            return True
        except Undeliverable as exc:
            reason = str(exc)
        except discord.Forbidden:
            reason = (
                "I may not post in its channel any more"
                if watch.channel_id is not None
                else "I cannot send them DMs (closed to this server's members, or I am blocked)"
            )
        except discord.NotFound:
            reason = "its channel is gone" if watch.channel_id is not None else "Discord does not know them"
        except discord.HTTPException as exc:
            if exc.status >= 500:
                log.warning("Discord failed a post for watch %s (%s); retrying later", watch.id, exc.status)
                return False
            reason = f"Discord refused the post ({exc.status})"
        log.info("Watch %s paused: %s", watch.id, reason)
        paused = await asyncio.to_thread(self.watches.mark_failed, match_id, reason)
        await self._tell_paused(paused)
        return False

    async def _destination(self, watch: Watch) -> discord.abc.Messageable:
        if watch.channel_id is None:
            if watch.user_id is None:
                raise Undeliverable("it has neither a channel nor an owner")
            return await self.bot.create_dm(discord.Object(id=watch.user_id))
        channel = await self._channel(watch.channel_id)
        if getattr(channel, "guild", None) is None or channel.guild.id != watch.guild_id:
            raise Undeliverable("its channel is not in this server")
        if not isinstance(channel, discord.abc.Messageable):
            raise Undeliverable("its channel cannot hold messages")
        return channel

    async def _channel(self, channel_id: int) -> Any:
        return self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)

    async def _tell_paused(self, watch: Watch) -> None:
        """Say once in the watch's server that it paused: in the mod channel when that is in the
        server, else the server's system channel; the channel that refused is never tried."""
        guild = self.bot.get_guild(watch.guild_id) if watch.guild_id is not None else None
        if guild is None:
            return
        mod = self.bot.settings.mod_channel_id
        places = [guild.get_channel(mod) if mod else None, guild.system_channel]
        for place in places:
            if not isinstance(place, discord.TextChannel) or place.id == watch.channel_id:
                continue
            try:
                await place.send(paused_text(watch), allowed_mentions=NONE)
                return
            except discord.HTTPException as exc:
                log.info("Could not say in channel %s that watch %s paused: %s", place.id, watch.id, exc)
        log.warning("Watch %s paused and no channel of server %s could be told", watch.id, guild.id)


async def start(bot: NewsBot, settings: Settings) -> Callable[[], Awaitable[None]]:
    """Open the watches for /watch, start the delivery loop, and return what stops both."""
    watches = await asyncio.to_thread(Watches.open, settings)
    bot.watches = watches
    lead = leadership(settings, DELIVERIES)  # not the writer's: a `feeds poll` may hold that
    task = asyncio.create_task(Deliveries(bot, watches, lead).run(), name="newsbot-deliveries")

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        bot.watches = None
        lead.release()
        watches.close()

    return stop
