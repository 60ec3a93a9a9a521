"""errors: every failure becomes a short private reply; unexpected ones are logged with an id."""

from __future__ import annotations

import logging
from typing import Any

import discord
import pytest
from discord import app_commands

from newsbot.bot.checks import Refused
from newsbot.bot.errors import (
    DisclosedError,
    error_id,
    explain,
    notify,
    on_app_command_error,
    report,
)
from newsbot.errors import BadQuestion, IndexBusy
from tests.bot.support import interaction, sent_kwargs


def invoke_error(exc: Exception) -> app_commands.CommandInvokeError:
    command: app_commands.Command[Any, Any, None] = app_commands.Command(
        name="ask", description="d", callback=_callback
    )
    return app_commands.CommandInvokeError(command, exc)


async def _callback(interaction: discord.Interaction) -> None: ...


def test_explain_newsbot_errors_use_their_own_message() -> None:
    failure = explain(invoke_error(BadQuestion("Please ask in words.")), 1)
    assert (failure.outcome, failure.text, failure.id) == ("refused", "Please ask in words.", None)


def test_explain_cooldown_rounds_up_the_wait() -> None:
    error = app_commands.CommandOnCooldown(app_commands.Cooldown(1, 5), 2.2)
    failure = explain(error, 1)
    assert failure.outcome == "rate_limited" and "try again in 3 s" in failure.text


def test_explain_checks() -> None:
    assert explain(Refused("Only admins."), 1).text == "Only admins."
    assert explain(app_commands.NoPrivateMessage(), 1).text == "This command only works in a server."
    bare = explain(app_commands.CheckFailure("The check functions for command 'x' failed."), 1)
    assert bare.text == "You are not allowed to use this command here."
    assert bare.outcome == "refused"


def test_explain_unexpected_errors_quote_a_stable_id() -> None:
    failure = explain(invoke_error(ZeroDivisionError("boom")), 77)
    assert failure.outcome == "error" and failure.id == error_id(77)
    assert f"`{failure.id}`" in failure.text and "boom" not in failure.text
    assert failure.detail.startswith(failure.id)
    assert error_id(77) != error_id(78) and len(error_id(77)) == 8


def test_explain_a_disclosed_error_shows_its_reason_and_an_id() -> None:
    failure = explain(invoke_error(DisclosedError("The reindex failed. Why: disk full")), 5)
    assert failure.outcome == "error" and failure.id == error_id(5)
    assert failure.text == f"The reindex failed. Why: disk full (error id `{error_id(5)}`)"


async def test_notify_before_any_response_is_ephemeral() -> None:
    inter = interaction()
    await notify(inter, "x" * 5000)
    kwargs = sent_kwargs(inter.response.send_message)
    assert kwargs["ephemeral"] is True
    assert len(inter.response.send_message.await_args.args[0]) <= 2000


async def test_notify_after_a_deferral_replaces_the_thinking_reply() -> None:
    inter = interaction(done=True, response_type=discord.InteractionResponseType.deferred_channel_message)
    await notify(inter, "busy")
    assert sent_kwargs(inter.edit_original_response) == {"content": "busy", "embed": None, "view": None}
    inter.followup.send.assert_not_awaited()


async def test_notify_after_a_full_response_sends_an_ephemeral_followup() -> None:
    inter = interaction(done=True, response_type=discord.InteractionResponseType.channel_message)
    await notify(inter, "late")
    assert sent_kwargs(inter.followup.send)["ephemeral"] is True
    inter.edit_original_response.assert_not_awaited()


async def test_handler_refusal_is_logged_quietly(caplog: pytest.LogCaptureFixture) -> None:
    inter = interaction()
    with caplog.at_level(logging.INFO, "newsbot.bot.errors"):
        await on_app_command_error(inter, invoke_error(IndexBusy("A reindex is running.")))
    assert inter.response.send_message.await_args.args[0] == "A reindex is running."
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_handler_logs_unexpected_errors_with_traceback_and_id(caplog: pytest.LogCaptureFixture) -> None:
    inter = interaction()
    with caplog.at_level(logging.INFO, "newsbot.bot.errors"):
        await on_app_command_error(inter, invoke_error(RuntimeError("disk on fire")))
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert error_id(inter.id) in record.getMessage()
    assert error_id(inter.id) in inter.response.send_message.await_args.args[0]


async def test_handler_survives_a_failing_reply(caplog: pytest.LogCaptureFixture) -> None:
    inter = interaction()
    response = type("R", (), {"status": 404, "reason": "Not Found"})()
    inter.response.send_message.side_effect = discord.NotFound(response, "Unknown interaction")
    await on_app_command_error(inter, invoke_error(BadQuestion("x")))
    assert any("Could not tell user" in r.getMessage() for r in caplog.records)


async def test_a_failed_click_is_reported_like_a_failed_command(caplog: pytest.LogCaptureFixture) -> None:
    inter = interaction()
    try:
        raise DisclosedError("The reindex failed.") from OSError("disk full")
    except DisclosedError as exc:
        error = exc
    with caplog.at_level(logging.INFO, "newsbot.bot.errors"):
        await report(inter, error, "a button")
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "in a button" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1].__cause__, OSError)
    assert sent_kwargs(inter.response.send_message)["ephemeral"] is True
    assert inter.response.send_message.await_args.args[0].startswith("The reindex failed. (error id")
