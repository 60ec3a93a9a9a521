"""Feedback buttons and the mod review channel, with spec'd mocks over a real query log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from newsbot.bot.client import NewsBot
from newsbot.bot.cogs.feedback import VOTE_ID, Feedback, VoteButton, answer_view, vote_id
from newsbot.bot.review import NO_MATCH, post_for_review
from newsbot.querylog import QueryRecord, Shown, SqliteQueryLog
from newsbot.settings import Settings
from tests.bot.support import interaction, sent_kwargs

GUILD, OTHER, MOD_CHANNEL = 99, 77, 555


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteQueryLog]:
    with SqliteQueryLog(tmp_path / "querylog.sqlite3") as log:
        yield log


def row(
    store: SqliteQueryLog,
    *,
    guild: int | None = GUILD,
    question: str = "solar farm?",
    outcome: str = "answered",
) -> int:
    return store.record(
        QueryRecord(
            question=question,
            interface="slash",
            outcome=outcome,
            guild_id=guild,
            channel_id=7,
            user_id=501,
            user_name="alice",
            shown=(Shown("harbour-1", 0, "Harbour city opens **floating** solar farm", 0.8),),
        )
    )


def mod_channel(guild_id: int = GUILD) -> MagicMock:
    channel = MagicMock(spec=discord.TextChannel, id=MOD_CHANNEL)
    channel.guild = MagicMock(spec=discord.Guild, id=guild_id)
    channel.send = AsyncMock()
    return channel


@pytest.fixture
async def bot(store: SqliteQueryLog, tmp_path: Path) -> AsyncIterator[NewsBot]:
    bot = NewsBot(Settings(data_dir=tmp_path, mod_channel_id=MOD_CHANNEL), querylog=store)
    bot.get_channel = MagicMock(return_value=mod_channel())  # type: ignore[method-assign]
    yield bot
    await bot.close()


def click(bot: NewsBot, user_id: int = 42) -> MagicMock:
    inter = interaction(user_id=user_id)
    inter.client = bot
    return inter


def said(inter: MagicMock) -> str:
    """What the clicker was told: the deferred private reply, filled in."""
    assert sent_kwargs(inter.response.defer) == {"ephemeral": True, "thinking": True}
    content: str = inter.edit_original_response.await_args.kwargs["content"]
    return content


def posted(bot: NewsBot) -> list[dict[str, Any]]:
    channel = bot.get_channel(MOD_CHANNEL)
    assert isinstance(channel, MagicMock)
    return [c.kwargs for c in channel.send.await_args_list]


def test_answer_view_is_persistent_with_stable_ids() -> None:
    view = answer_view(12)
    assert view.timeout is None and view.is_persistent()
    ids = [c["custom_id"] for row in view.to_components() for c in row["components"]]
    assert ids == ["newsbot:vote:up:12", "newsbot:vote:down:12"]
    assert all(VOTE_ID.fullmatch(i) for i in ids) and len(max(ids, key=len)) <= 100


async def test_the_button_is_rebuilt_from_its_custom_id() -> None:
    match = VOTE_ID.fullmatch(vote_id(987654321, False))
    assert match is not None
    item = MagicMock(spec=discord.ui.Button)
    button = await VoteButton.from_custom_id(interaction(), item, match)
    assert (button.row_id, button.up, button.custom_id) == (987654321, False, "newsbot:vote:down:987654321")
    assert VOTE_ID.fullmatch("newsbot:vote:sideways:1") is None


async def test_cog_load_registers_the_buttons_and_the_hook(bot: NewsBot) -> None:
    cog = Feedback(bot)
    await bot.add_cog(cog)
    assert bot.answer_view is answer_view
    assert VoteButton in bot._connection._view_store._dynamic_items.values()
    await bot.remove_cog(cog.qualified_name)
    assert bot.answer_view is None
    assert VoteButton not in bot._connection._view_store._dynamic_items.values()


async def test_a_vote_is_stored_once_per_user_and_thanked(bot: NewsBot, store: SqliteQueryLog) -> None:
    answer = row(store)
    first = click(bot, 1)
    await VoteButton(answer, True).callback(first)
    assert said(first) == "Thanks for the feedback! This answer now has 👍 1 · 👎 0."
    await VoteButton(answer, True).callback(click(bot, 2))
    again = click(bot, 1)
    await VoteButton(answer, True).callback(again)  # the same user again: still one vote
    assert "👍 2 · 👎 0" in said(again)
    assert store.get(GUILD, answer).votes.up == 2
    assert posted(bot) == []


async def test_thumbs_down_goes_to_the_mod_channel_once_per_answer(
    bot: NewsBot, store: SqliteQueryLog
) -> None:
    answer = row(store, question="solar farm? @everyone <@&123>")
    down = click(bot, 1)
    await VoteButton(answer, False).callback(down)
    assert said(down).endswith("A moderator will take a look.")
    [post] = posted(bot)
    assert post["allowed_mentions"].to_dict() == {"parse": []}
    embed = post["embed"]
    fields = {f.name: f.value for f in embed.fields}
    assert embed.title == "Review: 👎 from a reader"
    assert embed.description == "solar farm? @\u200beveryone \\<@&123\\>"
    assert fields["Asked by"] == "alice (501)" and fields["Where"] == "<#7> · slash"
    assert fields["Outcome"] == "✅ answered" and fields["Votes"] == "👍 0 · 👎 1"
    assert fields["Shown"] == "1. Harbour city opens \\*\\*floating\\*\\* solar farm"
    assert embed.footer.text == f"Row #{answer} · /logs show id:{answer}"

    await VoteButton(answer, False).callback(click(bot, 1))  # the same 👎 again: no new post
    await VoteButton(answer, True).callback(click(bot, 2))
    assert len(posted(bot)) == 1
    await VoteButton(answer, False).callback(click(bot, 3))
    assert len(posted(bot)) == 1  # one post per answer, however many readers vote it down


async def test_without_a_mod_channel_nothing_is_posted(bot: NewsBot, store: SqliteQueryLog) -> None:
    bot.settings = Settings(mod_channel_id=None)
    answer = row(store)
    down = click(bot)
    await VoteButton(answer, False).callback(down)
    assert "moderator" not in said(down)
    assert await post_for_review(bot, answer, NO_MATCH) is False
    assert posted(bot) == []


@pytest.mark.parametrize("guild", [OTHER, None])
async def test_no_vote_on_another_guilds_answer(
    bot: NewsBot, store: SqliteQueryLog, guild: int | None
) -> None:
    answer = row(store, guild=guild)
    inter = click(bot)
    await VoteButton(answer, False).callback(inter)  # clicked in guild 99
    assert "no query log row" in said(inter)
    assert store.get(None, answer).votes.down == 0
    assert posted(bot) == []


async def test_a_deleted_answer_is_explained_not_crashed(bot: NewsBot, store: SqliteQueryLog) -> None:
    answer = row(store)
    store.forget_user(GUILD, 501)
    inter = click(bot)
    await VoteButton(answer, True).callback(inter)
    assert "no query log row" in said(inter)


async def test_review_posts_stay_in_their_guild(bot: NewsBot, store: SqliteQueryLog) -> None:
    assert await post_for_review(bot, row(store, guild=OTHER), NO_MATCH) is False
    assert await post_for_review(bot, row(store, guild=None), NO_MATCH) is False  # a DM / CLI row
    assert posted(bot) == []
    assert await post_for_review(bot, row(store, outcome="no_match"), NO_MATCH) is True
    [post] = posted(bot)
    assert post["embed"].title == "Review: no match"


async def test_review_never_raises(
    bot: NewsBot, store: SqliteQueryLog, caplog: pytest.LogCaptureFixture
) -> None:
    channel = bot.get_channel(MOD_CHANNEL)
    assert isinstance(channel, MagicMock)
    channel.send.side_effect = discord.Forbidden(MagicMock(status=403, reason="Forbidden"), "Missing Access")
    with caplog.at_level(logging.WARNING):
        assert await post_for_review(bot, row(store), NO_MATCH) is False
        assert await post_for_review(bot, 12345, NO_MATCH) is False  # no such row
    assert sum("mod channel" in r.getMessage() for r in caplog.records) == 2

    bot.get_channel = MagicMock(return_value=None)  # type: ignore[method-assign]
    bot.fetch_channel = AsyncMock(
        side_effect=discord.NotFound(  # type: ignore[method-assign]
            MagicMock(status=404, reason="Not Found"), "Unknown Channel"
        )
    )
    assert await post_for_review(bot, row(store), NO_MATCH) is False
