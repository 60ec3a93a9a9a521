"""Behaviour through SimCord: the real CommandTree, permissions, deadlines, limits, mentions.

The bot runs unmodified against SimCord's in-memory Discord, over a real engine (tmp corpus)
and a real query log (tmp_path).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord

from newsbot.bot.client import NewsBot
from newsbot.errors import BadQuestion
from newsbot.settings import Settings
from tests.bot.support import open_bot

HOSTILE = {
    "id": "hostile-1",
    "title": "**Pwned** @everyone [click](https://evil.example)",
    "text": "@everyone @here <@&123456789012345678> **Lighthouse keepers** went on "
    "strike at the ~~old~~ lighthouse, said ||the union||. # Not a heading",
    "date": "2024-02-02",
    "source": "Prank <@123456789012345678> Wire",
}


HOME = 314159265358979323  # the test server: the bot's home server


@pytest.fixture
def simcord_bot(settings: Settings) -> Iterator[NewsBot]:
    (settings.corpus_dir / "hostile.jsonl").write_text(json.dumps(HOSTILE) + "\n")
    bot = open_bot(dataclasses.replace(settings, home_guild_id=HOME), sync_global=True)
    yield bot
    bot.querylog.close()


@pytest.fixture
def world(simcord_env: simcord.Env) -> dict[str, Any]:
    guild = simcord_env.create_guild(id=HOME)
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return {
        "guild": guild,
        "channel": guild.create_text_channel("news"),
        "alice": guild.add_member(simcord_env.create_user("alice")),
        "admin": guild.add_member(simcord_env.create_user("boss"), roles=[admins]),
    }


def newsbot(env: simcord.Env) -> NewsBot:
    assert isinstance(env.bot, NewsBot)
    return env.bot


def me(env: simcord.Env) -> discord.ClientUser:
    assert env.bot.user is not None
    return env.bot.user


def _body(entry: simcord.HttpLogEntry) -> dict[str, Any]:
    body = entry.json if isinstance(entry.json, dict) else {}
    return body.get("data") or body  # interaction callbacks wrap the message in "data"


def sends(env: simcord.Env) -> list[simcord.HttpLogEntry]:
    """Every request that creates or edits a message with content or embeds."""
    return [
        r
        for r in env.http_requests
        if r.method in ("POST", "PATCH") and ({"content", "embeds"} & set(_body(r)))
    ]


def allowed_mentions(entry: simcord.HttpLogEntry) -> Any:
    return _body(entry).get("allowed_mentions")


async def test_commands_are_synced_and_described(simcord_env: simcord.Env, world: dict[str, Any]) -> None:
    bot = newsbot(simcord_env)
    admin_only = {"reindex", "corpus stats", "corpus add", "corpus remove"}
    assert {"ask", "reindex", "corpus"} <= {c.name for c in bot.synced}
    member_sees = set(world["alice"].available_commands(world["channel"]))
    assert "ask" in member_sees and not member_sees & admin_only
    assert {"ask"} | admin_only <= set(world["admin"].available_commands(world["channel"]))


async def test_ask_answers_publicly_with_the_quoted_passage(
    simcord_env: simcord.Env, world: dict[str, Any]
) -> None:
    result = await world["alice"].slash(world["channel"], "ask", question="who was sanctioned?")
    assert result.acknowledged and not result.ephemeral
    [embed] = result.response.embeds
    assert "Kadyrov" in embed.description and "Magnitsky Act" in embed.description
    assert "**sanction**" in embed.description
    [row] = newsbot(simcord_env).querylog.recent(None)
    assert (row.record.outcome, row.record.guild_id) == ("answered", world["guild"].id)


async def test_private_answers_are_ephemeral(simcord_env: simcord.Env, world: dict[str, Any]) -> None:
    result = await world["alice"].slash(world["channel"], "ask", question="who was sanctioned?", private=True)
    assert result.ephemeral and result.response.embeds


async def test_a_refused_question_is_private_and_logged(
    simcord_env: simcord.Env, world: dict[str, Any]
) -> None:
    result = await world["alice"].slash(
        world["channel"], "ask", question="x " * 400
    )  # under the option bound, over the engine's
    assert result.ephemeral
    assert "keep it under" in result.response.content
    [error] = simcord_env.errors
    assert isinstance(getattr(error, "original", None), BadQuestion)
    assert newsbot(simcord_env).querylog.recent(None)[0].record.outcome == "refused"


async def test_bad_dates_are_refused_privately(simcord_env: simcord.Env, world: dict[str, Any]) -> None:
    result = await world["alice"].slash(
        world["channel"], "ask", question="who was sanctioned?", since="last tuesday"
    )
    assert result.ephemeral and "YYYY-MM-DD" in result.response.content
    assert simcord_env.errors


async def test_cooldown_applies_to_slash_and_mentions_then_expires(
    simcord_env: simcord.Env, world: dict[str, Any]
) -> None:
    alice, channel = world["alice"], world["channel"]
    await alice.slash(channel, "ask", question="who was sanctioned?")
    again = await alice.slash(channel, "ask", question="who was sanctioned?")
    assert again.ephemeral and "try again in 5 s" in again.response.content
    await alice.send(channel, f"{me(simcord_env).mention} who was sanctioned?")
    assert "try again" in channel.last_message.content
    assert simcord_env.errors
    await simcord_env.advance_time(5)
    later = await alice.slash(channel, "ask", question="who was sanctioned?")
    assert later.response.embeds
    outcomes = [r.record.outcome for r in newsbot(simcord_env).querylog.recent(None)]
    assert outcomes == ["answered", "rate_limited", "rate_limited", "answered"]


async def test_source_autocomplete(simcord_env: simcord.Env, world: dict[str, Any]) -> None:
    choices = await world["alice"].autocomplete(world["channel"], "ask", "source", "led", question="rail")
    assert [c["value"] for c in choices] == ["Daily Ledger"]


async def test_mention_is_answered_as_a_reply_that_pings_nobody(
    simcord_env: simcord.Env, world: dict[str, Any]
) -> None:
    channel = world["channel"]
    asked = await world["alice"].send(channel, f"{me(simcord_env).mention} who was sanctioned? @everyone")
    reply = channel.last_message
    assert reply.author.id == me(simcord_env).id
    assert reply.reference is not None and reply.reference.message_id == asked.id
    assert not reply.mention_everyone and not reply.mentions and not reply.role_mentions
    assert reply.embeds
    [sent] = [e for e in sends(simcord_env) if "/channels/" in e.path]
    assert allowed_mentions(sent) == {"parse": [], "replied_user": False}


async def test_hostile_articles_are_escaped_and_never_ping(
    simcord_env: simcord.Env, world: dict[str, Any]
) -> None:
    result = await world["alice"].slash(
        world["channel"], "ask", question="**lighthouse keepers** strike @everyone"
    )
    [embed] = result.response.embeds
    text = f"{embed.title}\n{embed.description}"
    assert "@everyone" not in text and "@here" not in text
    assert r"\~\~old\~\~" in text and r"\|\|the union\|\|" in text
    assert "[click](" not in text.replace(r"\[click\](", "")
    sent = sends(simcord_env)
    assert sent and all(allowed_mentions(e) == {"parse": []} for e in sent)


async def test_members_cannot_see_or_run_admin_commands(
    simcord_env: simcord.Env, world: dict[str, Any]
) -> None:
    alice, channel, guild = world["alice"], world["channel"], world["guild"]
    with pytest.raises(simcord.SetupError, match="default-member-permissions"):
        await alice.slash(channel, "reindex")
    # A server admin may unhide the command for a member; the bot's own check still refuses.
    home = discord.Object(id=HOME)
    [reindex] = [c for c in await newsbot(simcord_env).tree.fetch_commands(guild=home) if c.name == "reindex"]
    guild.set_command_permissions(reindex, {alice: True})
    result = await alice.slash(channel, "reindex")
    assert result.ephemeral and "Manage Server" in result.response.content
    assert simcord_env.errors


async def test_an_admin_role_from_settings_is_enough(simcord_env: simcord.Env, world: dict[str, Any]) -> None:
    guild, channel = world["guild"], world["channel"]
    editors = guild.create_role("Editors")
    editor = guild.add_member(simcord_env.create_user("ed"), roles=[editors])
    bot = newsbot(simcord_env)
    bot.settings = dataclasses.replace(bot.settings, admin_role_ids=frozenset({editors.id}))
    [stats] = [c for c in await bot.tree.fetch_commands() if c.name == "corpus"]
    guild.set_command_permissions(stats, {editors: True})
    result = await editor.slash(channel, "corpus stats")
    assert result.ephemeral and result.response.embeds[0].title == "Corpus"


async def test_admin_reindex_acknowledges_at_once_and_reports(
    simcord_env: simcord.Env, world: dict[str, Any]
) -> None:
    result = await world["admin"].slash(world["channel"], "reindex", full=True)
    [callback] = [r for r in simcord_env.http_requests if r.path.endswith("/callback")]
    assert callback.json == {"type": 5, "data": {"flags": 64}}  # deferred, ephemeral, first
    assert result.ephemeral and result.response.embeds[0].title == "Reindex finished"


async def test_admin_adds_an_article_file(
    simcord_env: simcord.Env, world: dict[str, Any], settings: Settings
) -> None:
    article = {
        "id": "tide-9",
        "title": "Tidal barrage approved",
        "text": "Councillors approved a tidal barrage across the estuary on Friday.",
        "source": "Coast Herald",
    }
    result = await world["admin"].slash(
        world["channel"], "corpus add", file=("tide.jsonl", json.dumps(article).encode())
    )
    assert result.ephemeral
    assert result.response.content == "Added “Tidal barrage approved”."
    assert Path(settings.corpus_dir / "uploads" / "tide.jsonl").is_file()
    answer = await world["alice"].slash(world["channel"], "ask", question="tidal barrage estuary")
    assert "barrage" in answer.response.embeds[0].description


async def test_admin_removes_an_article(simcord_env: simcord.Env, world: dict[str, Any]) -> None:
    result = await world["admin"].slash(world["channel"], "corpus remove", article_id="rail-2")
    assert result.ephemeral and result.response.content.startswith("Removed “Rail strike")
    missing = await world["admin"].slash(world["channel"], "corpus remove", article_id="rail-2")
    assert missing.ephemeral and "No article" in missing.response.content
    assert simcord_env.errors


async def test_an_unexpected_error_apologises_with_an_id(
    simcord_env: simcord.Env, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("index exploded")

    monkeypatch.setattr(newsbot(simcord_env).engine, "ask", broken)
    result = await world["alice"].slash(world["channel"], "ask", question="who was sanctioned?")
    assert result.ephemeral and "error id `" in result.response.content
    assert "exploded" not in result.response.content
    assert simcord_env.errors
    assert newsbot(simcord_env).querylog.recent(None)[0].record.outcome == "error"


async def test_every_message_sent_fits_discords_limits(
    simcord_env: simcord.Env, world: dict[str, Any]
) -> None:
    for question in ("who was sanctioned?", "lighthouse strike", "solar farm harbour"):
        await world["admin"].slash(world["channel"], "ask", question=question)
        await simcord_env.advance_time(5)
    await world["admin"].slash(world["channel"], "reindex")
    await world["admin"].slash(world["channel"], "corpus stats")
    assert not simcord_env.errors  # SimCord rejects any oversize content or embed


async def test_a_slow_reindex_is_acknowledged_first_then_reported(
    simcord_env: simcord.Env, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = newsbot(simcord_env).engine
    real = engine.reindex

    def slow(*, full: bool = False, progress: Any = None) -> Any:
        for n in range(5):
            progress("reading", n, 5)
            time.sleep(0.1)
        return real(full=full)

    monkeypatch.setattr(engine, "reindex", slow)
    result = await world["admin"].slash(world["channel"], "reindex")
    # SimCord's clock is virtual, so progress timers do not fire here (see test_cogs_admin).
    first = next(r for r in simcord_env.http_requests if "/interactions/" in r.path)
    assert first.json == {"type": 5, "data": {"flags": 64}}
    assert result.response.embeds[0].title == "Reindex finished"
