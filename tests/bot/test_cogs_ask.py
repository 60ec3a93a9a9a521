"""The Ask cog with spec'd mock interactions, a real engine over a tmp corpus and a real log."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import ANY, AsyncMock, MagicMock

import discord
import pytest
from discord import app_commands

from newsbot.bot.client import NewsBot
from newsbot.bot.cogs import ask as ask_module
from newsbot.bot.cogs.ask import Ask, UserCooldown
from newsbot.bot.cogs.more import MORE_ID, MoreButton, more_id
from newsbot.corpus import edits
from newsbot.errors import BadFilter, BadQuestion
from newsbot.querylog import LoggedQuery
from newsbot.settings import Settings
from tests.bot.support import answer as support_answer
from tests.bot.support import hit as support_hit
from tests.bot.support import interaction, open_bot, sent_kwargs

BOT_ID = 1000


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[NewsBot]:
    bot = open_bot(settings)
    bot._connection.user = MagicMock(spec=discord.ClientUser, id=BOT_ID)
    yield bot
    bot.querylog.close()


@pytest.fixture
def cog(bot: NewsBot) -> Ask:
    return Ask(bot)


def rows(bot: NewsBot) -> list[LoggedQuery]:
    return bot.querylog.recent(None, limit=100)


async def ask(cog: Ask, inter: MagicMock, question: str, **options: Any) -> None:
    await cog.ask.callback(cog, inter, question, **options)  # type: ignore[arg-type]


async def test_answer_is_logged_then_sent_as_an_embed(cog: Ask, bot: NewsBot) -> None:
    inter = interaction()
    logged_before_reply: list[int] = []
    inter.edit_original_response.side_effect = lambda **_: logged_before_reply.append(len(rows(bot)))
    await ask(cog, inter, "who was sanctioned?")
    assert sent_kwargs(inter.response.defer) == {"ephemeral": False, "thinking": True}
    embed = sent_kwargs(inter.edit_original_response)["embed"]
    assert "Kadyrov" in embed.description and "Magnitsky Act" in embed.description
    assert "**sanction**" in embed.description
    assert logged_before_reply == [1]
    [row] = rows(bot)
    assert (row.record.interface, row.record.outcome) == ("slash", "answered")
    assert (row.record.guild_id, row.record.channel_id, row.record.user_id) == (99, 7, 42)
    assert row.record.shown and row.record.index_version == bot.engine.version


async def test_private_answers_are_ephemeral(cog: Ask) -> None:
    inter = interaction()
    await ask(cog, inter, "who was sanctioned?", private=True)
    assert sent_kwargs(inter.response.defer)["ephemeral"] is True


async def test_filters_reach_the_engine_and_the_log(cog: Ask, bot: NewsBot) -> None:
    inter = interaction()
    await ask(cog, inter, "rail strike trains", source="Daily Ledger", since="2024")
    embed = sent_kwargs(inter.edit_original_response)["embed"]
    assert "Rail strike" in embed.description
    assert rows(bot)[0].record.filters == {"source": "Daily Ledger", "since": "2024-01-01"}


async def test_no_match_is_honest_and_logged(cog: Ask, bot: NewsBot) -> None:
    inter = interaction()
    await ask(cog, inter, "quantum chromodynamics lattice")
    embed = sent_kwargs(inter.edit_original_response)["embed"]
    assert embed.description.startswith("I found nothing")
    assert rows(bot)[0].record.outcome == "no_match"


@pytest.mark.parametrize("question", ["", "   ", "the who", "x " * 5000])
async def test_unsearchable_questions_raise_before_any_deferral(cog: Ask, question: str) -> None:
    inter = interaction()
    with pytest.raises(BadQuestion):
        await ask(cog, inter, question)
    inter.response.defer.assert_not_awaited()  # so the refusal can still be ephemeral


async def test_bad_filters_raise_before_the_engine_runs(
    cog: Ask, bot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine_ask = MagicMock()
    monkeypatch.setattr(bot.engine, "ask", engine_ask)
    with pytest.raises(BadFilter):
        await ask(cog, interaction(), "who?", since="2024-05-01", until="2023-01-01")
    engine_ask.assert_not_called()


async def test_a_slow_answer_is_deferred_before_the_deadline(
    cog: Ask, bot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bot.engine.ask
    order: list[str] = []

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)
        order.append("answered")
        return real(*args, **kwargs)

    monkeypatch.setattr(bot.engine, "ask", slow)
    monkeypatch.setattr(ask_module, "DEFER_AFTER", 0.05)
    inter = interaction()
    respond = inter.response.defer.side_effect

    def defer(**kwargs: Any) -> None:
        order.append("deferred")
        respond(**kwargs)

    inter.response.defer.side_effect = defer
    await ask(cog, inter, "who was sanctioned?")
    assert order == ["deferred", "answered"]


async def test_a_broken_query_log_does_not_cost_the_answer(
    cog: Ask, bot: NewsBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(bot.querylog, "record", MagicMock(side_effect=OSError("disk full")))
    inter = interaction()
    await ask(cog, inter, "who was sanctioned?")
    assert "Kadyrov" in sent_kwargs(inter.edit_original_response)["embed"].description
    assert any("query log" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_feedback_view_hook_gets_the_row_id(cog: Ask, bot: NewsBot) -> None:
    views: list[int] = []

    def make(row: int) -> discord.ui.View:
        views.append(row)
        return MagicMock(spec=discord.ui.View)

    bot.answer_view = make
    inter = interaction()
    await ask(cog, inter, "who was sanctioned?")
    assert views == [rows(bot)[0].id]
    assert "view" in sent_kwargs(inter.edit_original_response)


async def test_cooldown_is_per_user(cog: Ask) -> None:
    bot_settings_cooldown = cog.cooldown.seconds
    assert bot_settings_cooldown == 5.0
    assert await cog.interaction_check(interaction(user_id=1)) is True
    assert await cog.interaction_check(interaction(user_id=2)) is True
    with pytest.raises(app_commands.CommandOnCooldown) as caught:
        await cog.interaction_check(interaction(user_id=1))
    assert 0 < caught.value.retry_after <= 5


def test_user_cooldown_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    cooldown = UserCooldown(5)
    assert cooldown.retry_after(1) == 0
    now[0] += 4
    assert cooldown.retry_after(1) == pytest.approx(1)
    now[0] += 1
    assert cooldown.retry_after(1) == 0
    assert UserCooldown(0).retry_after(1) == 0 and UserCooldown(0).retry_after(1) == 0


@pytest.mark.parametrize(
    "error, outcome",
    [
        (app_commands.CommandOnCooldown(app_commands.Cooldown(1, 5), 3), "rate_limited"),
        (BadQuestion("empty"), "refused"),
        (RuntimeError("boom"), "error"),
    ],
)
async def test_failed_questions_are_logged_with_their_options(
    cog: Ask, bot: NewsBot, error: Exception, outcome: str
) -> None:
    inter = interaction()
    inter.namespace = app_commands.Namespace(
        inter,
        {},
        [
            {"name": "question", "type": 3, "value": "who?"},
            {"name": "source", "type": 3, "value": "Daily Ledger"},
        ],
    )
    if not isinstance(error, app_commands.AppCommandError):
        error = app_commands.CommandInvokeError(cog.ask, error)
    await cog.cog_app_command_error(inter, error)
    [row] = rows(bot)
    assert (row.record.question, row.record.outcome) == ("who?", outcome)
    assert row.record.filters == {"source": "Daily Ledger"}
    assert row.record.error


async def test_source_autocomplete_filters_the_indexed_sources(cog: Ask) -> None:
    choices = await cog._sources(interaction(), "ledg")
    assert [c.value for c in choices] == ["Daily Ledger"]
    assert len(await cog._sources(interaction(), "")) == 2


def message(content: str, *, bot_author: bool = False, guild: bool = True) -> MagicMock:
    msg = MagicMock(spec=discord.Message)
    msg.id, msg.content, msg.type = 555, content, discord.MessageType.default
    msg.author = MagicMock(spec=discord.Member, id=42, bot=bot_author)
    msg.author.name = "alice"
    msg.channel = MagicMock(spec=discord.TextChannel, id=7)
    msg.guild = MagicMock(spec=discord.Guild, id=99, self_role=None) if guild else None
    msg.reply = AsyncMock()
    return msg


@pytest.mark.parametrize(
    "content, question",
    [
        (f"<@{BOT_ID}> who was sanctioned?", "who was sanctioned?"),
        (f"hey <@!{BOT_ID}>   who   was sanctioned?", "hey who was sanctioned?"),
        (f"<@{BOT_ID}>", ""),
        ("who was sanctioned?", None),
        ("<@1234> who?", None),
        ("@everyone who?", None),
    ],
)
def test_question_in_mentions(cog: Ask, content: str, question: str | None) -> None:
    assert cog.question_in(message(content)) == question


def test_question_in_ignores_bots_and_accepts_the_bot_role(cog: Ask) -> None:
    assert cog.question_in(message(f"<@{BOT_ID}> hi", bot_author=True)) is None
    msg = message("<@&77> who was sanctioned?")
    msg.guild.self_role = MagicMock(spec=discord.Role, id=77)
    assert cog.question_in(msg) == "who was sanctioned?"


async def test_mention_is_answered_as_a_reply_without_pinging(cog: Ask, bot: NewsBot) -> None:
    msg = message(f"<@{BOT_ID}> who was sanctioned?")
    await cog.on_message(msg)
    kwargs = sent_kwargs(msg.reply)
    assert kwargs["mention_author"] is False
    assert "Kadyrov" in kwargs["embed"].description
    [row] = rows(bot)
    assert (row.record.interface, row.record.outcome, row.record.user_name) == (
        "mention",
        "answered",
        "alice",
    )


async def test_mention_refusal_and_cooldown_are_replied_and_logged(cog: Ask, bot: NewsBot) -> None:
    empty = message(f"<@{BOT_ID}>")
    await cog.on_message(empty)
    assert "question in words" in sent_kwargs(empty.reply)["content"]
    again = message(f"<@{BOT_ID}> who was sanctioned?")
    await cog.on_message(again)
    assert "try again in 5 s" in sent_kwargs(again.reply)["content"]
    assert [r.record.outcome for r in rows(bot)] == ["rate_limited", "refused"]


async def test_mention_errors_are_logged_with_an_id(
    cog: Ask, bot: NewsBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(bot.engine, "ask", MagicMock(side_effect=RuntimeError("boom")))
    msg = message(f"<@{BOT_ID}> who was sanctioned?")
    with caplog.at_level(logging.ERROR):
        await cog.on_message(msg)
    text = sent_kwargs(msg.reply)["content"]
    [row] = rows(bot)
    assert row.record.outcome == "error" and row.record.error
    assert row.record.error.split()[0] in text
    assert any(r.exc_info for r in caplog.records)


async def test_a_mention_reply_that_cannot_be_sent_is_logged(
    cog: Ask, caplog: pytest.LogCaptureFixture
) -> None:
    msg = message(f"<@{BOT_ID}> who was sanctioned?")
    response = type("R", (), {"status": 403, "reason": "Forbidden"})()
    msg.reply.side_effect = discord.Forbidden(response, "Missing Permissions")
    await cog.on_message(msg)
    assert any("Could not reply" in r.getMessage() for r in caplog.records)


async def test_questions_are_answered_during_a_reindex(
    cog: Ask, bot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = edits.removed_ids
    monkeypatch.setattr(edits, "removed_ids", lambda folder: (release.wait(10), real(folder))[1])
    reindex = asyncio.create_task(asyncio.to_thread(bot.engine.reindex, full=True))
    try:
        while not bot.engine.reindexing:
            await asyncio.sleep(0.01)
        answers = []
        for n in range(20):
            inter = interaction(user_id=n)
            await ask(cog, inter, "who was sanctioned?")
            answers.append(sent_kwargs(inter.edit_original_response)["embed"])
        assert bot.engine.reindexing  # every answer above came while the build was held
    finally:
        release.set()
        await reindex
    assert all("Kadyrov" in (e.description or "") for e in answers)


def test_ask_is_described_everywhere(cog: Ask) -> None:
    command = cog.ask
    assert command.description == "Ask a question; newsbot answers by quoting the news."
    assert [p.name for p in command.parameters] == ["question", "source", "since", "until", "private"]
    assert all(p.description != "…" for p in command.parameters)
    assert [p.name for p in command.parameters if p.required] == ["question"]
    assert command.get_parameter("source").autocomplete  # type: ignore[union-attr]


async def test_ask_newsbot_on_a_message_answers_its_text(cog: Ask, bot: NewsBot) -> None:
    message = MagicMock(spec=discord.Message)
    message.content = "  who was sanctioned?  "
    inter = interaction()
    await cog.ask_message(inter, message)
    embed = sent_kwargs(inter.edit_original_response)["embed"]
    assert "Kadyrov" in embed.description
    assert rows(bot)[0].record.question == "who was sanctioned?"
    assert cog.menu.name == "Ask newsbot" and cog.menu.type is discord.AppCommandType.message
    with pytest.raises(app_commands.CommandOnCooldown):  # the same cooldown as /ask
        await cog.ask_message(interaction(), message)
    message.content = "   "
    with pytest.raises(BadQuestion, match="no text"):
        await cog.ask_message(interaction(user_id=7), message)


async def test_context_menu_and_more_button_are_registered_with_the_cog(bot: NewsBot) -> None:
    cog = Ask(bot)
    await bot.add_cog(cog)
    assert bot.tree.get_command("Ask newsbot", type=discord.AppCommandType.message) is cog.menu
    await bot.remove_cog("Ask")
    assert bot.tree.get_command("Ask newsbot", type=discord.AppCommandType.message) is None


def test_more_button_only_under_answers_that_may_have_more(cog: Ask) -> None:
    three = support_answer(*(support_hit(f"text {n}", n=n, article_id=f"a{n}") for n in range(3)))
    [button] = cog._buttons(5, three)["view"].children
    assert isinstance(button, MoreButton) and button.custom_id == more_id(5) == "newsbot:more:5"
    assert MORE_ID.fullmatch(more_id(2**63 - 1)) and len(more_id(2**63 - 1)) <= 100
    assert cog._buttons(5, support_answer(support_hit("one"))) == {"view": ANY}
    assert cog._buttons(5, support_answer(support_hit("x"), matched=False)) == {}
    assert cog._buttons(None, three) == {}


async def test_more_shows_the_next_results_privately(cog: Ask, bot: NewsBot) -> None:
    await ask(cog, interaction(), "who was sanctioned?", source="")
    row = rows(bot)[0].id
    inter = interaction()
    inter.client = bot
    button = await MoreButton.from_custom_id(inter, MagicMock(), MORE_ID.fullmatch(more_id(row)))  # type: ignore[arg-type]
    await button.callback(inter)
    assert sent_kwargs(inter.response.defer) == {"ephemeral": True, "thinking": True}
    embed = sent_kwargs(inter.edit_original_response)["embed"]
    assert embed.title == "More: who was sanctioned?"
    assert "That was everything" in embed.description  # one article about sanctions: none after 3
    gone = interaction()
    gone.client = bot
    await MoreButton(row + 99).callback(gone)  # a row that is not there: a private explanation
    assert not sent_kwargs(gone.edit_original_response).get("embed")


async def test_a_refused_menu_question_is_logged_too(cog: Ask, bot: NewsBot) -> None:
    inter = interaction()
    inter.data = {"resolved": {"messages": {"5": {"id": "5", "content": "the who"}}}}
    error = app_commands.CommandInvokeError(cog.menu, BadQuestion("only very common words"))
    await cog.menu.on_error(inter, error)  # type: ignore[misc]
    [row] = rows(bot)
    assert (row.record.question, row.record.outcome) == ("the who", "refused")
