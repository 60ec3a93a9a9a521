"""**More** under an answer: the next results, shown only to the reader who clicks.

Persistent like the vote buttons: the custom id carries the query-log row (`newsbot:more:<row>`,
well within Discord's 100 characters), from which the question and its filters are read again,
so a click on an answer posted before a restart still works.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any, cast

import discord

from newsbot.answers import parse_filters
from newsbot.bot.embeds.render import more_embed
from newsbot.bot.errors import report

if TYPE_CHECKING:
    from newsbot.bot.client import NewsBot

MORE_ID = re.compile(r"newsbot:more:(?P<row>[0-9]{1,19})")
SHOWN = 3  # passages in an answer; More shows the next ones
MORE = 3


def more_id(row_id: int) -> str:
    return f"newsbot:more:{row_id}"


class MoreButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=MORE_ID.pattern):
    """The next results for one logged question, rebuilt from its custom id on every click."""

    def __init__(self, row_id: int) -> None:
        super().__init__(
            discord.ui.Button(style=discord.ButtonStyle.secondary, label="More", custom_id=more_id(row_id))
        )
        self.row_id = row_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Button[discord.ui.View],  # type: ignore[override]
        match: re.Match[str],
        /,
    ) -> MoreButton:
        return cls(int(match["row"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = cast("NewsBot", interaction.client)
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
            row = await asyncio.to_thread(bot.querylog.get, interaction.guild_id, self.row_id)
            filters = parse_filters(**{k: row.record.filters.get(k) for k in ("since", "until", "source")})
            found = await asyncio.to_thread(
                bot.engine.ask, row.record.question, k=SHOWN + MORE, filters=filters
            )
        except Exception as exc:  # a button has no tree error handler: answer like one
            await report(interaction, exc, "the More button")
            return
        await interaction.edit_original_response(embed=more_embed(found, SHOWN))
