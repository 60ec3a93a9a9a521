"""Keeping the index current: `/reindex` and `/corpus stats|add|remove`, for server admins.

Every command here is hidden from non-admins by `default_permissions` and refused by the
real `is_admin()` check, answers only the admin (ephemeral), and defers at once because
reindexing takes seconds to minutes. `/reindex` is the operator's: registered in the home
server only (`HOME_ONLY`). `/corpus` works in every server on that server's own `Scope`: in the
home server the operator's corpus, elsewhere only what that server added.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from newsbot.bot.checks import is_admin, is_operator
from newsbot.bot.embeds.render import progress_text, report_embed, stats_embed
from newsbot.bot.errors import DisclosedError
from newsbot.bot.limits import CONTENT, code, escape, fit
from newsbot.corpus.scope import Scope
from newsbot.errors import BadUpload, IndexBusy, NewsbotError
from newsbot.records import Article, BuildReport

if TYPE_CHECKING:
    from newsbot.bot.client import NewsBot

log = logging.getLogger(__name__)
HOME_ONLY = "home_only"  # in a command's extras: registered in the home server only
PROGRESS_EVERY = 2.0  # seconds between progress edits: well inside Discord's rate limits


class Progress:
    """The latest progress report of a reindex, written by its worker thread, read by the loop."""

    def __init__(self) -> None:
        self.latest: tuple[str, int, int] | None = None

    def update(self, stage: str, done: int, total: int) -> None:
        self.latest = (stage, done, total)  # one reference assignment: atomic


class Admin(commands.Cog):
    """Index and corpus upkeep."""

    corpus = app_commands.Group(
        name="corpus",
        description="See or change the news corpus (admins)",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    @app_commands.command(extras={HOME_ONLY: True})
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @is_operator()
    @app_commands.describe(full="Re-read every article instead of only new and changed files")
    async def reindex(self, interaction: discord.Interaction, full: bool = False) -> None:
        """Update the search index from the corpus folder (admins)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await reindex_showing_progress(self.bot, interaction, full=full)
        await interaction.edit_original_response(content=None, embed=report_embed(report))

    @corpus.command(name="stats")
    @is_admin()
    async def stats(self, interaction: discord.Interaction) -> None:
        """What the index holds: articles, sources, dates and version (admins)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        stats = await asyncio.to_thread(self.bot.engine.stats, self._scope(interaction))
        # The folder's name only: a server's path is the operator's business.
        stats = dataclasses.replace(stats, corpus=PurePath(stats.corpus).name)
        await interaction.edit_original_response(embed=stats_embed(stats))

    @corpus.command(name="add")
    @is_admin()
    @app_commands.describe(file="An article file: .txt, .md, .json, .jsonl or .jsonl.gz")
    async def add(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """Add an article file to the corpus, then reindex (admins)."""
        limit = self.bot.settings.max_upload_bytes
        if file.size > limit:  # refuse before downloading anything
            raise BadUpload(f"That file is {file.size:,} bytes; the limit is {limit:,}.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await file.read()
        articles = await asyncio.to_thread(
            self.bot.engine.add_file, file.filename, data, self._scope(interaction)
        )
        await self._reindex_after(interaction, f"Added {_titles(articles)}.", articles)

    @corpus.command(name="remove")
    @is_admin()
    @app_commands.describe(article_id="The id of the article to remove")
    async def remove(self, interaction: discord.Interaction, article_id: str) -> None:
        """Remove an article from the corpus, then reindex (admins)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        removal = await asyncio.to_thread(
            self.bot.engine.remove_article, article_id.strip(), self._scope(interaction)
        )
        how = (
            f"deleted the uploaded file {code(removal.deleted)}"
            if removal.deleted
            else "its id is excluded from the index; no file was deleted"
        )
        await self._reindex_after(interaction, f"Removed {_titles([removal.article])} ({how}).")

    def _scope(self, interaction: discord.Interaction) -> Scope:
        """Whose corpus content a command acts on: the operator's in the home server, else the
        server's own."""
        guild = interaction.guild_id
        return Scope() if guild is not None and guild == self.bot.settings.home_guild_id else Scope(guild)

    async def _reindex_after(
        self, interaction: discord.Interaction, done: str, added: Sequence[Article] = ()
    ) -> None:
        """Reindex after a corpus change; a reindex already running is reported, not an error.
        Added articles the index left out (a text it already holds) are named: "Added" means
        answerable."""
        try:
            report = await reindex_showing_progress(self.bot, interaction, full=False, done=done)
        except IndexBusy:
            await interaction.edit_original_response(
                content=fit(
                    f"{done} A reindex is already running; run /reindex when it ends to include this change.",
                    CONTENT,
                )
            )
            return
        if added:
            indexed = await asyncio.to_thread(self.bot.engine.indexed_ids)
            left_out = [a for a in added if a.id not in indexed]
            if left_out:
                done += (
                    f" Not indexed: {_titles(left_out)}, whose text the corpus already holds"
                    " (see the skipped list)."
                )
        await interaction.edit_original_response(content=fit(done, CONTENT), embed=report_embed(report))


async def reindex_showing_progress(
    bot: NewsBot, interaction: discord.Interaction, *, full: bool, done: str = ""
) -> BuildReport:
    """Run the reindex in a worker thread, editing the reply with its progress (throttled).

    A build that fails leaves the index in use untouched; the admin is told so, and why
    (`done`, what was already changed, comes first).
    """
    progress = Progress()
    job = asyncio.ensure_future(asyncio.to_thread(bot.engine.reindex, full=full, progress=progress.update))
    shown: tuple[str, int, int] | None = None
    while not (await asyncio.wait({job}, timeout=PROGRESS_EVERY))[0]:
        if progress.latest is None or progress.latest == shown:
            continue
        shown = progress.latest
        try:
            await interaction.edit_original_response(content=progress_text(*shown))
        except discord.HTTPException as exc:  # progress is a courtesy; the job goes on
            log.debug("Could not show reindex progress: %s", exc)
    try:
        return job.result()
    except NewsbotError:
        raise
    except Exception as exc:
        why = fit(escape(" ".join(f"{type(exc).__name__}: {exc}".split())), 300)
        raise DisclosedError(
            f"{done} The reindex failed; the index in use ({code(bot.engine.version)}) "
            f"is unchanged and keeps answering. Why: {why}".strip()
        ) from exc


def _titles(articles: Sequence[Article]) -> str:
    """“First title” (and N more)."""
    if not articles:
        return "nothing"
    first = f"“{fit(escape(' '.join(articles[0].title.split())), 150)}”"
    return first + (f" and {len(articles) - 1} more" if len(articles) > 1 else "")
