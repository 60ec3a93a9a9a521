"""The bot's cogs, in one list: a new cog (e.g. `/logs`, feedback buttons) is added here.

Each cog is constructed with the bot alone and reads the engine, query log and settings
from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from discord.ext import commands

from newsbot.bot.cogs.admin import Admin
from newsbot.bot.cogs.ask import Ask
from newsbot.bot.cogs.feedback import Feedback
from newsbot.bot.cogs.feeds import Feeds
from newsbot.bot.cogs.logs import Logs
from newsbot.bot.cogs.unlogged import Unlogged
from newsbot.bot.cogs.watches import WatchCommands

if TYPE_CHECKING:
    from newsbot.bot.client import NewsBot

COGS: tuple[Callable[[NewsBot], commands.Cog], ...] = (
    Ask,
    Admin,
    Logs,
    Feedback,
    WatchCommands,
    Unlogged,
    Feeds,
)
