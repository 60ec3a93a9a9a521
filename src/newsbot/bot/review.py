"""Answers posted for moderators to review in the mod channel (`NEWSBOT_MOD_CHANNEL_ID`)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord

from newsbot.bot.embeds.logrender import review_embed
from newsbot.errors import NewsbotError

if TYPE_CHECKING:
    from newsbot.bot.client import NewsBot

log = logging.getLogger(__name__)

NO_MATCH = "no match"
THUMBS_DOWN = "👎 from a reader"


async def post_for_review(bot: NewsBot, row_id: int, reason: str) -> bool:
    """Post query-log row `row_id` to the mod channel, if one is set and the row was not posted
    before by this bot; True when posted.

    Only into the row's own guild: a mod channel in guild A never shows guild B's (or a DM's)
    questions. Nobody is pinged. Best effort, never raises: a missing channel, a deleted row
    or a refused post is logged, so the answer or vote that triggered it is unaffected.
    """
    channel_id = bot.settings.mod_channel_id
    if not channel_id:
        return False
    if not bot.review_once(row_id):  # one post per answer, however many 👎 toggles
        return False
    try:
        row = await asyncio.to_thread(bot.querylog.get, None, row_id)
        channel = bot.get_channel(channel_id) or await bot.fetch_channel(channel_id)
        guild = getattr(channel, "guild", None)
        if guild is None or guild.id != row.record.guild_id:
            log.info(
                "Not posting row %s (guild %s) for review: the mod channel %s is in another guild",
                row_id,
                row.record.guild_id,
                channel_id,
            )
            return False
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("The mod channel %s cannot hold messages", channel_id)
            return False
        await channel.send(embed=review_embed(row, reason), allowed_mentions=discord.AllowedMentions.none())
    except (NewsbotError, discord.HTTPException, discord.InvalidData) as exc:
        log.warning("Could not post row %s to the mod channel %s: %s", row_id, channel_id, exc)
        return False
    except Exception:
        log.exception("Could not post row %s to the mod channel %s", row_id, channel_id)
        return False
    return True
