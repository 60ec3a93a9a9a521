"""👍 / 👎 under every answer: one vote per reader per answer, kept on its query-log row.

The buttons are persistent: their custom ids carry the row id (`newsbot:vote:up:<row>`) and
are matched by a `DynamicItem` template registered when the cog loads, so a click on an
answer posted before a restart still counts. A new 👎 posts the answer to the mod channel.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any, cast

import discord
from discord.ext import commands

from newsbot.bot.errors import report
from newsbot.bot.review import THUMBS_DOWN, post_for_review
from newsbot.querylog import QueryLog, Votes

if TYPE_CHECKING:
    from newsbot.bot.client import NewsBot

log = logging.getLogger(__name__)

VOTE_ID = re.compile(r"newsbot:vote:(?P<kind>up|down):(?P<row>[0-9]{1,19})")
UP, DOWN = "\N{THUMBS UP SIGN}", "\N{THUMBS DOWN SIGN}"


def vote_id(row_id: int, up: bool) -> str:
    """The custom id of a vote button: stable, so it survives restarts."""
    return f"newsbot:vote:{'up' if up else 'down'}:{row_id}"


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=VOTE_ID.pattern):
    """A 👍 or 👎 for one answer, rebuilt from its custom id on every click."""

    def __init__(self, row_id: int, up: bool) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary, emoji=UP if up else DOWN, custom_id=vote_id(row_id, up)
            )
        )
        self.row_id, self.up = row_id, up

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Button[discord.ui.View],  # type: ignore[override]
        match: re.Match[str],
        /,
    ) -> VoteButton:
        return cls(int(match["row"]), match["kind"] == "up")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = cast("NewsBot", interaction.client)
        try:
            # A busy query log may take longer than the 3 s an interaction may wait.
            await interaction.response.defer(ephemeral=True, thinking=True)
            before, after = await asyncio.to_thread(
                _vote, bot.querylog, interaction.guild_id, self.row_id, interaction.user.id, self.up
            )
        except Exception as exc:  # a button has no tree error handler: answer like one
            await report(interaction, exc, "a vote button")
            return
        review = not self.up and after.down > before.down and bool(bot.settings.mod_channel_id)
        await interaction.edit_original_response(content=thanks(after, review))
        if review:
            await post_for_review(bot, self.row_id, THUMBS_DOWN)


def _vote(store: QueryLog, guild_id: int | None, row_id: int, user_id: int, up: bool) -> tuple[Votes, Votes]:
    """The totals before and after the vote; NotFound if the row is gone or in another guild."""
    before = store.get(guild_id, row_id).votes
    return before, store.vote(row_id, user_id, up)


def thanks(votes: Votes, review: bool) -> str:
    text = f"Thanks for the feedback! This answer now has {UP} {votes.up} · {DOWN} {votes.down}."
    return text + (" A moderator will take a look." if review else "")


def answer_view(row_id: int) -> discord.ui.View:
    """The buttons under an answer: persistent (no timeout), one pair per query-log row."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(row_id, True))
    view.add_item(VoteButton(row_id, False))
    return view


class Feedback(commands.Cog):
    """Readers' votes on answers."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(VoteButton)
        self.bot.answer_view = answer_view

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(VoteButton)
        if self.bot.answer_view is answer_view:
            self.bot.answer_view = None
