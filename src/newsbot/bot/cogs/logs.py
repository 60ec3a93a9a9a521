"""Reviewing the query log in Discord: `/logs recent|show|unanswered|stats|export|flag|forget`.

For moderators (Manage Messages, or a moderator role from the settings): every command is
hidden from others by `default_permissions`, refused by the real `is_mod()` check, works in
servers only, and answers only the moderator (ephemeral). Every read is scoped to the guild
the command runs in, so a moderator never sees another server's questions.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from newsbot.bot.checks import is_mod
from newsbot.bot.cogs.ask import UserCooldown
from newsbot.bot.embeds.logrender import (
    log_stats_embed,
    query_embed,
    recent_embed,
    text,
    unanswered_embed,
    window,
)
from newsbot.bot.errors import report
from newsbot.bot.limits import CONTENT, fit
from newsbot.errors import NewsbotError
from newsbot.querylog import LoggedQuery, Outcome, QueryLog, write_csv
from newsbot.querylog.buffer import BufferedQueryLog
from newsbot.querylog.records import TooBig

if TYPE_CHECKING:
    from newsbot.bot.client import NewsBot

log = logging.getLogger(__name__)
PAGER_TIMEOUT = 600.0  # seconds; well inside the 15 minutes an interaction token lasts
CONFIRM_TIMEOUT = 120.0
PRUNE_EVERY_HOURS = 1.0
DEFAULT_FILE_LIMIT = 10 * 1024 * 1024
EXPORT_COOLDOWN = 30.0  # seconds between exports in one server: each reads the whole log
OUTCOMES = [app_commands.Choice(name=o.value.replace("_", " "), value=o.value) for o in Outcome]


@dataclass(frozen=True)
class RecentQuery:
    """What `/logs recent` lists: one guild, optionally narrowed; `per_page` rows a page."""

    guild_id: int
    user_id: int | None = None
    channel_id: int | None = None
    outcome: str | None = None
    per_page: int = 10

    def describe(self) -> str:
        parts = [
            f"user {self.user_id}" if self.user_id else "",
            f"channel {self.channel_id}" if self.channel_id else "",
            self.outcome.replace("_", " ") if self.outcome else "",
        ]
        return ", ".join(p for p in parts if p)

    async def page(self, store: QueryLog, page: int) -> tuple[list[LoggedQuery], bool]:
        """The rows of page `page` (from 0), and whether a next page exists."""
        rows = await asyncio.to_thread(
            store.recent,
            self.guild_id,
            user_id=self.user_id,
            channel_id=self.channel_id,
            outcome=self.outcome,
            limit=self.per_page + 1,
            offset=page * self.per_page,
        )
        return rows[: self.per_page], len(rows) > self.per_page

    def embed(self, rows: list[LoggedQuery], page: int) -> discord.Embed:
        return recent_embed(rows, page=page, per_page=self.per_page, filters=self.describe())


class OwnedView(discord.ui.View):
    """A private view only the moderator who opened it may use; it ends by removing its
    buttons from the reply, and failures are answered like failed commands."""

    def __init__(self, owner: discord.Interaction, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.owner = owner
        self.expired_text: str | None = None  # content shown once the view times out

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if interaction.user.id == self.owner.user.id:
            return True
        await interaction.response.send_message(
            "Only the moderator who ran this command can use these buttons.", ephemeral=True
        )
        return False

    async def on_timeout(self) -> None:
        try:
            if self.expired_text is None:
                await self.owner.edit_original_response(view=None)
            else:
                await self.owner.edit_original_response(content=self.expired_text, view=None)
        except discord.HTTPException as exc:  # the reply was dismissed: nothing to tidy
            log.debug("Could not remove expired buttons: %s", exc)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[OwnedView], /
    ) -> None:
        await report(interaction, error, "a /logs button")


class RecentPager(OwnedView):
    """Previous / Next through `/logs recent`."""

    def __init__(
        self,
        owner: discord.Interaction,
        store: QueryLog,
        query: RecentQuery,
        has_next: bool,
        timeout: float = PAGER_TIMEOUT,
    ) -> None:
        super().__init__(owner, timeout)
        self.store, self.query = store, query
        self.number = 0
        self._buttons(has_next)

    def _buttons(self, has_next: bool) -> None:
        self.previous_page.disabled = self.number == 0
        self.next_page.disabled = not has_next

    @discord.ui.button(label="Previous", emoji="◀️", style=discord.ButtonStyle.secondary)
    async def previous_page(
        self, interaction: discord.Interaction, button: discord.ui.Button[RecentPager]
    ) -> None:
        await self.turn(interaction, max(0, self.number - 1))

    @discord.ui.button(label="Next", emoji="▶️", style=discord.ButtonStyle.secondary)
    async def next_page(
        self, interaction: discord.Interaction, button: discord.ui.Button[RecentPager]
    ) -> None:
        await self.turn(interaction, self.number + 1)

    async def turn(self, interaction: discord.Interaction, number: int) -> None:
        await interaction.response.defer()  # a busy query log may take longer than 3 s
        rows, has_next = await self.query.page(self.store, number)
        self.number = number
        self._buttons(has_next)
        await interaction.edit_original_response(embed=self.query.embed(rows, number), view=self)


class ConfirmForget(OwnedView):
    """Delete a user's questions only once the moderator confirms."""

    def __init__(
        self,
        owner: discord.Interaction,
        store: QueryLog,
        guild_id: int,
        user_id: int,
        label: str,
        timeout: float = CONFIRM_TIMEOUT,
    ) -> None:
        super().__init__(owner, timeout)
        self.store, self.guild_id, self.user_id, self.label = store, guild_id, user_id, label
        self.expired_text = "Timed out: nothing was deleted."
        self.deleted: int | None = None

    @discord.ui.button(label="Delete their questions", style=discord.ButtonStyle.danger)
    async def confirm(
        self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmForget]
    ) -> None:
        self.stop()
        await interaction.response.defer()
        self.deleted = await asyncio.to_thread(self.store.forget_user, self.guild_id, self.user_id)
        await interaction.edit_original_response(
            view=None,
            content=fit(
                f"Deleted {self.deleted:,} logged questions of {self.label} in this server, with "
                "their votes and flags, and the votes they cast here. Posts already made in the "
                "mod channel are not touched: delete those by hand if needed.",
                CONTENT,
            ),
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(
        self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmForget]
    ) -> None:
        self.stop()
        await interaction.response.edit_message(content="Cancelled: nothing was deleted.", view=None)


def _guild(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:  # is_mod() refuses DMs first; this keeps mypy sure
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id


def _csv(store: QueryLog, guild_id: int, days: int | None, limit: int) -> tuple[int, bytes]:
    """The export as UTF-8 CSV, and its row count; read page by page and abandoned (TooBig) as
    soon as it passes `limit` bytes, so a huge log is never built in memory."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=True)
    rows = (q for page in store.export_pages(guild_id, days) for q in page)
    count = write_csv(out, rows, limit=limit)
    return count, raw.getvalue()


def _days(days: int) -> int | None:
    return days if days > 0 else None


class Logs(commands.Cog):
    """The query log, for moderators."""

    logs = app_commands.Group(
        name="logs",
        description="Review the questions asked here (moderators)",
        default_permissions=discord.Permissions(manage_messages=True),
        guild_only=True,
    )

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.export_cooldown = UserCooldown(EXPORT_COOLDOWN)  # keyed by server

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self.bot.settings.log_retention_days and not self.prune_loop.is_running():
            self.prune_loop.start()

    async def cog_unload(self) -> None:
        self.prune_loop.cancel()

    @tasks.loop(hours=PRUNE_EVERY_HOURS)
    async def prune_loop(self) -> None:
        """Retention for an idle bot: the store prunes itself only when it is written to."""
        await self.prune()

    async def prune(self) -> int:
        try:
            deleted = await asyncio.to_thread(self.bot.querylog.prune)
        except Exception:  # logged, retried next hour; a loop that raises would stop
            log.exception("Pruning the query log failed")
            return 0
        if deleted:
            log.info(
                "Pruned %d query log rows older than %d days", deleted, self.bot.settings.log_retention_days
            )
        return deleted

    @logs.command(name="recent")
    @is_mod()
    @app_commands.describe(
        user="Only this person's questions",
        channel="Only questions asked in this channel",
        outcome="Only questions that ended this way",
        limit="Questions per page (1–25)",
    )
    @app_commands.choices(outcome=OUTCOMES)
    async def recent(
        self,
        interaction: discord.Interaction,
        user: discord.Member | discord.User | None = None,
        channel: app_commands.AppCommandChannel | app_commands.AppCommandThread | None = None,
        outcome: str | None = None,
        limit: app_commands.Range[int, 1, 25] = 10,
    ) -> None:
        """The latest questions asked in this server, newest first, a page at a time."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        query = RecentQuery(
            _guild(interaction), user.id if user else None, channel.id if channel else None, outcome, limit
        )
        rows, has_next = await query.page(self.bot.querylog, 0)
        embed = query.embed(rows, 0)
        if not has_next:  # one page: nothing to turn
            await interaction.edit_original_response(embed=embed)
            return
        pager = RecentPager(interaction, self.bot.querylog, query, has_next)
        await interaction.edit_original_response(embed=embed, view=pager)

    @logs.command(name="show")
    @is_mod()
    @app_commands.describe(id="The question's number, as /logs recent shows it (#12 → 12)")
    async def show(self, interaction: discord.Interaction, id: app_commands.Range[int, 1, None]) -> None:
        """One question in full: who asked, what was shown, scores, latency, votes and flags."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        row = await asyncio.to_thread(self.bot.querylog.get, _guild(interaction), id)
        await interaction.edit_original_response(embed=query_embed(row))

    @logs.command(name="unanswered")
    @is_mod()
    @app_commands.describe(days="Look back this many days (1–365)")
    async def unanswered(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 365] = 7
    ) -> None:
        """Questions that found no good match, grouped: what the news corpus lacks."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        groups = await asyncio.to_thread(self.bot.querylog.unanswered, _guild(interaction), days)
        await interaction.edit_original_response(embed=unanswered_embed(groups, days))

    @logs.command(name="stats")
    @is_mod()
    @app_commands.describe(days="Look back this many days (0: all time)")
    async def stats(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 0, 3650] = 7
    ) -> None:
        """Volume, answer and no-match rates, latency, top questions and feedback."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        stats = await asyncio.to_thread(self.bot.querylog.stats, _guild(interaction), _days(days))
        querylog = self.bot.querylog
        unwritten = (
            querylog.unwritten(_guild(interaction)) if isinstance(querylog, BufferedQueryLog) else None
        )
        await interaction.edit_original_response(embed=log_stats_embed(stats, _days(days), unwritten))

    @logs.command(name="export")
    @is_mod()
    @app_commands.describe(days="Only the last this many days (0: everything)")
    async def export(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 0, 3650] = 0
    ) -> None:
        """This server's questions as a CSV file, oldest first."""
        guild_id = _guild(interaction)
        self.export_cooldown.check(guild_id)  # one export at a time per server: each reads it all
        await interaction.response.defer(ephemeral=True, thinking=True)
        limit = interaction.filesize_limit or DEFAULT_FILE_LIMIT
        try:
            count, data = await asyncio.to_thread(_csv, self.bot.querylog, guild_id, _days(days), limit)
        except TooBig as big:
            raise NewsbotError(
                f"The export passed Discord's {limit / 1e6:.0f} MB file limit after {big.rows:,} "
                "questions: ask for fewer days, or run `newsbot logs export` on the bot's server."
            ) from None
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
        file = discord.File(io.BytesIO(data), filename=f"newsbot-log-{guild_id}-{stamp}.csv")
        await interaction.edit_original_response(
            content=f"{count:,} questions asked in this server, {window(_days(days))}. They are "
            "exactly as typed: open the file as text in a spreadsheet.",
            attachments=[file],
        )

    @logs.command(name="flag")
    @is_mod()
    @app_commands.describe(
        id="The question's number, as /logs recent shows it",
        reason="Why it needs a look, e.g. wrong article quoted",
    )
    async def flag(
        self,
        interaction: discord.Interaction,
        id: app_commands.Range[int, 1, None],
        reason: app_commands.Range[str, 1, 500],
    ) -> None:
        """Mark an answer for review, with a reason."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.to_thread(self.bot.querylog.flag, _guild(interaction), id, interaction.user.id, reason)
        await interaction.edit_original_response(
            content=fit(f"Flagged question #{id}: {text(reason, 500)}", CONTENT)
        )

    @logs.command(name="forget")
    @is_mod()
    @app_commands.describe(user="The person whose logged questions and votes are deleted")
    async def forget(self, interaction: discord.Interaction, user: discord.Member | discord.User) -> None:
        """Delete every logged question and vote of a person in this server (a deletion request)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = _guild(interaction)
        label = f"{text(user.name, 40)} ({user.id})"
        view = ConfirmForget(interaction, self.bot.querylog, guild_id, user.id, label)
        await interaction.edit_original_response(
            view=view,
            content=fit(
                f"Delete every logged question of {label} in this server, with their votes and "
                "flags, and the votes they cast here? This cannot be undone.",
                CONTENT,
            ),
        )
