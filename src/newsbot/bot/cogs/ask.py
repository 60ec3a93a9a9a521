"""Answering questions: `/ask` and `@newsbot question`, one engine call each, always logged.

Every question gets one query-log row (answered, no match, refused, rate limited or error),
written before the reply is sent so a crash after replying loses nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from newsbot.answers import parse_filters
from newsbot.bot.choices import matching
from newsbot.bot.cogs.more import SHOWN, MoreButton
from newsbot.bot.embeds.render import answer_embed
from newsbot.bot.errors import Failure, explain
from newsbot.bot.limits import CONTENT, fit
from newsbot.bot.review import NO_MATCH, post_for_review
from newsbot.corpus.scope import Scope
from newsbot.errors import BadQuestion
from newsbot.querylog import QueryRecord
from newsbot.querylog.buffer import Deferred
from newsbot.records import Answer, Filters

if TYPE_CHECKING:
    from newsbot.bot.client import NewsBot

log = logging.getLogger(__name__)
DEFER_AFTER = 1.0  # seconds an answer may take before the interaction is deferred
# Option lengths, enforced by Discord itself before the bot sees anything.
QUESTION_CHARS = 1000
SOURCE_CHARS = 100
DATE_CHARS = 40
MENU = "Ask newsbot"  # the message context-menu command


class UserCooldown:
    """At most one question per user per `seconds`, shared by /ask and mentions."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._until: dict[int, float] = {}
        self._told: dict[int, float] = {}  # user -> the wait they were last told about

    def retry_after(self, user_id: int) -> float:
        """0 (and start the user's wait) when they may ask now, else the seconds left."""
        if self.seconds <= 0:
            return 0.0
        now = time.monotonic()
        if len(self._until) > 10_000:
            self._until = {user: t for user, t in self._until.items() if t > now}
        left = self._until.get(user_id, 0.0) - now
        if left > 0:
            return left
        self._until[user_id] = now + self.seconds
        return 0.0

    def first_refusal(self, user_id: int) -> bool:
        """True once per wait: the first refusal is said, the rest of a burst is silent."""
        until = self._until.get(user_id)
        if until is None or self._told.get(user_id) == until:
            return False
        if len(self._told) > 10_000:
            self._told.clear()
        self._told[user_id] = until
        return True

    def check(self, user_id: int) -> None:
        """Raise discord.py's CommandOnCooldown when the user must wait."""
        left = self.retry_after(user_id)
        if left:
            raise app_commands.CommandOnCooldown(app_commands.Cooldown(1, self.seconds), left)


class Ask(commands.Cog):
    """Questions in, quoted news out."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.cooldown = UserCooldown(bot.settings.cooldown_seconds)
        # A context menu cannot be declared in a cog: it is made here and added to the tree.
        self.menu = app_commands.ContextMenu(name=MENU, callback=self.ask_message)
        self.menu.on_error = self._menu_error

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(MoreButton)
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(MoreButton)
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """The per-user cooldown, checked before /ask runs (typing in autocomplete is free)."""
        self.cooldown.check(interaction.user.id)
        return True

    @app_commands.command()
    @app_commands.describe(
        question="What you want to know, in your own words",
        source="Only quote this news source",
        since="Only news from this day on: YYYY-MM-DD (or 2024-05, or 2024)",
        until="Only news up to this day: YYYY-MM-DD (or 2024-05, or 2024)",
        private="Show the answer only to you",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, QUESTION_CHARS],
        source: app_commands.Range[str, 1, SOURCE_CHARS] | None = None,
        since: app_commands.Range[str, 1, DATE_CHARS] | None = None,
        until: app_commands.Range[str, 1, DATE_CHARS] | None = None,
        private: bool = False,
    ) -> None:
        """Ask a question; newsbot answers by quoting the news."""
        filters = dataclasses.replace(parse_filters(since, until, source), guild=interaction.guild_id)
        await self._answer(interaction, question, filters, private)

    async def ask_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """ "Ask newsbot" on a message: its text is the question (under the /ask cooldown)."""
        self.cooldown.check(interaction.user.id)
        question = message.content.strip()
        if not question:
            raise BadQuestion("That message has no text to ask about.")
        await self._answer(interaction, question, Filters(guild=interaction.guild_id), private=False)

    async def _answer(
        self, interaction: discord.Interaction, question: str, filters: Filters, private: bool
    ) -> None:
        job = asyncio.ensure_future(asyncio.to_thread(self.bot.engine.ask, question, filters=filters))
        # Answering takes milliseconds: waiting a moment before deferring lets a refused
        # question be answered privately, while a slow answer still beats the 3 s deadline.
        if not (await asyncio.wait({job}, timeout=DEFER_AFTER))[0]:
            await interaction.response.defer(ephemeral=private, thinking=True)
        answer = await job
        if not interaction.response.is_done():  # the log write may wait on a busy database
            await interaction.response.defer(ephemeral=private, thinking=True)
        row = await self._record(QueryRecord.from_answer(answer, **_who(interaction)))
        embed = await asyncio.to_thread(answer_embed, answer)  # text work stays off the event loop
        await interaction.edit_original_response(embed=embed, **self._buttons(row, answer))
        if row is not None and not answer.matched:
            await post_for_review(self.bot, row, NO_MATCH)

    @ask.autocomplete("source")
    async def _sources(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return matching(current, self.bot.engine.sources(Scope(interaction.guild_id)))

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Log the failed question; the tree's handler then tells the user."""
        ns = interaction.namespace
        raw = {"source": ns.source, "since": ns.since, "until": ns.until}
        await self._record_failure(
            explain(error, interaction.id),
            str(ns.question or ""),
            {k: str(v) for k, v in raw.items() if v},
            _who(interaction),
        )

    async def _menu_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Log the failed "Ask newsbot" question; the tree's handler then tells the user."""
        data: Any = interaction.data or {}
        messages = data.get("resolved", {}).get("messages", {})
        question = next((str(m.get("content") or "") for m in messages.values()), "")
        await self._record_failure(explain(error, interaction.id), question, {}, _who(interaction))

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer `@newsbot question` with a reply, under the same cooldown as /ask."""
        question = self.question_in(message)
        if question is None:
            return
        who = _author(message)
        try:
            self.cooldown.check(message.author.id)
            guild = Filters(guild=message.guild.id if message.guild else None)
            answer = await asyncio.to_thread(self.bot.engine.ask, question, filters=guild)
        except Exception as exc:
            failure = explain(exc, message.id)
            if failure.outcome == "error":
                log.error("Error %s answering a mention (message %s)", failure.id, message.id, exc_info=exc)
            await self._record_failure(failure, question, {}, who)
            if failure.outcome != "rate_limited" or self.cooldown.first_refusal(message.author.id):
                await _reply(message, content=fit(failure.text, CONTENT))
            return
        row = await self._record(QueryRecord.from_answer(answer, **who))
        embed = await asyncio.to_thread(answer_embed, answer)
        await _reply(message, embed=embed, **self._buttons(row, answer))
        if row is not None and not answer.matched:
            await post_for_review(self.bot, row, NO_MATCH)

    def question_in(self, message: discord.Message) -> str | None:
        """The question of a message that mentions the bot (or its role), else None."""
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return None
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return None
        tokens = [f"<@{me.id}>", f"<@!{me.id}>"]
        role = message.guild.self_role if message.guild else None
        if role is not None:
            tokens.append(f"<@&{role.id}>")
        if not any(token in message.content for token in tokens):
            return None
        text = message.content
        for token in tokens:
            text = text.replace(token, " ")
        return " ".join(text.split())

    def _buttons(self, row: int | None, answer: Answer) -> dict[str, Any]:
        """The buttons under an answer: feedback (once a feedback cog provides them) and More
        when there may be more results."""
        if row is None:
            return {}
        make = self.bot.answer_view
        view = make(row) if make is not None else discord.ui.View(timeout=None)
        if answer.matched and len(answer.hits) >= SHOWN:
            view.add_item(MoreButton(row))
        return {"view": view} if make is not None or answer.matched else {}

    async def _record_failure(
        self, failure: Failure, question: str, filters: Mapping[str, str], who: Mapping[str, Any]
    ) -> None:
        await self._record(
            QueryRecord(
                question=question,
                outcome=failure.outcome,
                filters=dict(filters),
                error=failure.detail,
                index_version=self._version(),
                **who,
            )
        )

    def _version(self) -> str | None:
        try:
            return self.bot.engine.version
        except RuntimeError:
            return None

    async def _record(self, record: QueryRecord) -> int | None:
        """Write one query-log row; a broken log is logged here, never shown to the asker."""
        try:
            return await asyncio.to_thread(self.bot.querylog.record, record)
        except Deferred:  # kept in memory and retried (querylog/buffer.py); said once there
            return None
        except Exception:
            log.exception("Could not write the query log row for %r", record.question[:80])
            return None


def _who(interaction: discord.Interaction) -> dict[str, Any]:
    return {
        "interface": "slash",
        "guild_id": interaction.guild_id,
        "channel_id": interaction.channel_id,
        "user_id": interaction.user.id,
        "user_name": interaction.user.name,
    }


def _author(message: discord.Message) -> dict[str, Any]:
    return {
        "interface": "mention",
        "guild_id": message.guild.id if message.guild else None,
        "channel_id": message.channel.id,
        "user_id": message.author.id,
        "user_name": message.author.name,
    }


async def _reply(message: discord.Message, **kwargs: Any) -> None:
    """Reply without pinging; a channel the bot may not write in is logged, not raised."""
    try:
        await message.reply(mention_author=False, **kwargs)
    except discord.HTTPException as exc:
        log.warning("Could not reply to message %s in channel %s: %s", message.id, message.channel.id, exc)
