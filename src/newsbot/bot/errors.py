"""The one place failures become replies: short, private, and never a traceback.

User-fit errors (`NewsbotError`, refused checks, cooldowns) are answered with their own
message. Anything else is logged with its traceback under a short error id, and the user
gets an apology quoting that id, so a report can be matched to the log line. Commands reach
`report` through the tree's handler; buttons, which the tree never sees, call it themselves.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from dataclasses import dataclass
from typing import Literal

import discord
from discord import app_commands

from newsbot.bot.limits import CONTENT, fit, visible
from newsbot.errors import NewsbotError

log = logging.getLogger(__name__)

Outcome = Literal["refused", "rate_limited", "error"]


@dataclass(frozen=True)
class Failure:
    """What went wrong, as the user sees it and as the query log keeps it."""

    outcome: Outcome
    text: str  # shown to the user
    detail: str  # kept in the query log
    id: str | None = None  # set for unexpected errors: quoted to the user and logged


class DisclosedError(Exception):
    """An unexpected failure whose cause the user may read (an admin's failed reindex): logged
    with its traceback like any error, but answered with this message and the error id."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def error_id(snowflake: int) -> str:
    """A short id derived from the interaction or message id, quoted to the user and logged."""
    return hashlib.blake2s(str(snowflake).encode(), digest_size=4).hexdigest()


def unwrap(error: BaseException) -> BaseException:
    """The exception a command raised, without discord.py's CommandInvokeError wrapper."""
    if isinstance(error, app_commands.CommandInvokeError):
        return error.original
    return error


# An absolute path (not a URL's): a reply names only its last part, never where the server keeps it.
_PATH = re.compile(r"(?<![\w:/.\\])/(?:[^\s/“”\"'`]+/)+([^\s/“”\"'`]*)")


def hide_paths(text: str) -> str:
    """`text` with every absolute path cut to `…/its-last-part`, and no invisible characters
    (a message may quote what a user typed or a file held)."""
    return _PATH.sub(lambda m: "…/" + m.group(1), visible(text))


def explain(error: BaseException, snowflake: int) -> Failure:
    """Map any exception to the reply and the query-log outcome."""
    cause = unwrap(error)
    if isinstance(cause, NewsbotError):
        return Failure("refused", hide_paths(cause.message), f"{type(cause).__name__}: {cause.message}")
    if isinstance(cause, app_commands.CommandOnCooldown):
        wait = max(1, math.ceil(cause.retry_after))
        return Failure(
            "rate_limited",
            f"Slow down a little: try again in {wait} s.",
            f"cooldown {cause.retry_after:.1f} s",
        )
    if isinstance(cause, app_commands.NoPrivateMessage):
        return Failure("refused", "This command only works in a server.", "no private message")
    if isinstance(cause, app_commands.CheckFailure):
        # A bare CheckFailure carries discord.py's internal wording; subclasses speak to users.
        text = (
            "You are not allowed to use this command here."
            if type(cause) is app_commands.CheckFailure
            else str(cause)
        )
        return Failure("refused", text, f"{type(cause).__name__}: {cause}")
    eid = error_id(snowflake)
    if isinstance(cause, DisclosedError):
        text = f"{hide_paths(cause.message)} (error id `{eid}`)"
        return Failure("error", text, f"{eid} {cause.message}", eid)
    return Failure(
        "error",
        f"Sorry, something went wrong on my side (error id `{eid}`). Please try again later.",
        f"{eid} {type(cause).__name__}: {cause}",
        eid,
    )


async def notify(interaction: discord.Interaction, text: str) -> None:
    """Tell the user, whether or not the interaction was already acknowledged.

    Before any reply the notice is ephemeral. After a deferral it replaces the "thinking…"
    reply (and any progress shown in it), which is private when the command deferred so.
    """
    text = fit(text, CONTENT)
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True)
    elif interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
        await interaction.edit_original_response(content=text, embed=None, view=None)
    else:
        await interaction.followup.send(text, ephemeral=True)


async def report(interaction: discord.Interaction, error: BaseException, what: str) -> None:
    """Log a failed command or click (`what`: "/ask", "a button") and tell the user privately."""
    failure = explain(error, interaction.id)
    if failure.outcome == "error":
        log.error(
            "Error %s in %s (interaction %s, user %s)",
            failure.id,
            what,
            interaction.id,
            interaction.user.id,
            exc_info=unwrap(error),
        )
    else:
        log.info("%s refused for user %s: %s", what, interaction.user.id, failure.detail)
    try:
        await notify(interaction, failure.text)
    except discord.HTTPException as exc:
        log.warning("Could not tell user %s about a failed %s: %s", interaction.user.id, what, exc)


async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    """The command tree's error handler: every slash command failure ends here."""
    command = interaction.command.qualified_name if interaction.command else "?"
    await report(interaction, error, f"/{command}")
