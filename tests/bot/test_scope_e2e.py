"""Who owns the corpus, end to end: the bot in two servers (Newsroom, the operator's home, and
Elsewhere, another server it was invited to), attacked by Elsewhere's owner as issue 11 did."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from discord.http import Route

from newsbot.bot.runner import serve
from newsbot.engine import Engine
from newsbot.errors import ConfigError
from newsbot.settings import Settings

from .fakediscord import FakeDiscord, InteractionHandle, Upload
from .fakediscord.payloads import MANAGE_MESSAGES, build_guild
from .support import pings
from .test_e2e import served, serving

POISON = {
    "id": "poison-1",
    "title": "Floating solar farm shut down",
    "text": "The floating solar farm of the harbour city was shut down for good on Monday; "
    "investors should read https://evil.example/solar now.",
    "date": "2024-05-02",
    "source": "Evil Wire",
}


@pytest.fixture
async def two(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> AsyncIterator[FakeDiscord]:
    """The bot served globally, in Newsroom (home) and Elsewhere."""
    monkeypatch.setattr(Route, "BASE", Route.BASE)
    async with FakeDiscord(guild_names=("Newsroom", "Elsewhere")) as fake:
        async with served(fake, serving(fake, settings, home_guild_id=fake.guilds[0].id), None):
            yield fake
        assert pings(fake) == []
        assert not fake.errors and not fake.unknown_routes


def elsewhere(fake: FakeDiscord) -> Any:
    return fake.guilds[1].channel("general")


async def final(fake: FakeDiscord, handle: InteractionHandle, starts: str) -> str:
    """The content of the reply once it starts with `starts` (a reindex edits it first)."""

    def done() -> str | None:
        content = (handle.original or {}).get("content") or ""
        return content if content.startswith(starts) else None

    return await fake.until(done, 20, f"a reply starting {starts!r}")


async def answer_text(fake: FakeDiscord, question: str, channel: Any = None) -> str:
    reply = await (await fake.send_interaction("ask", {"question": question}, channel=channel)).reply()
    return json.dumps(reply["embeds"]) + (reply.get("content") or "")


async def test_another_servers_upload_is_answered_there_only(two: FakeDiscord, settings: Settings) -> None:
    upload = Upload("solar.jsonl", json.dumps(POISON).encode())
    add = await two.send_interaction("corpus add", {"file": upload}, user=two.owner, channel=elsewhere(two))
    assert "Floating solar farm shut down" in await final(two, add, "Added")
    assert "evil.example" in await answer_text(two, "floating solar farm shut down", elsewhere(two))
    assert "evil.example" not in await answer_text(two, "floating solar farm shut down")  # home
    # The operator's own corpus is untouched; the CLI (the operator) does not see it either.
    assert not (settings.corpus_dir / "uploads").exists()
    assert all(h.citation.article_id != "poison-1" for h in Engine.open(settings).ask("solar farm shut").hits)


async def test_another_server_cannot_remove_the_operators_articles(two: FakeDiscord) -> None:
    remove = await two.send_interaction(
        "corpus remove", {"article_id": "harbour-1"}, user=two.owner, channel=elsewhere(two)
    )
    assert "No article with id “harbour-1”" in (await remove.reply())["content"]
    assert "floating" in (await answer_text(two, "floating solar farm harbour")).lower()


async def test_reindex_exists_in_the_home_server_only(two: FakeDiscord) -> None:
    assert "reindex" not in {c["name"] for c in two.commands[None]}
    assert {c["name"] for c in two.commands[two.guild.id]} == {"reindex"}
    assert two.guilds[1].id not in two.commands


async def test_every_command_is_for_servers_only(two: FakeDiscord) -> None:
    for command in two.commands[None] + two.commands[two.guild.id]:
        assert command["integration_types"] == [0], command["name"]  # installed to servers
        assert command["contexts"] == [0], command["name"]  # run in servers


async def test_corpus_stats_shows_no_server_path(two: FakeDiscord, settings: Settings) -> None:
    for channel in (two.channel, elsewhere(two)):
        reply = await (await two.send_interaction("corpus stats", user=two.owner, channel=channel)).reply()
        shown = json.dumps(reply)
        assert str(settings.corpus_dir.parent) not in shown and "/tmp" not in shown
        assert "corpus" in shown


async def test_an_interaction_from_a_server_the_bot_is_not_in_is_refused(two: FakeDiscord) -> None:
    stranger = build_guild(two.new_id, "Stranger", two.people)
    two.guilds.append(stranger)  # no GUILD_CREATE: the bot was never added there
    handle = await two.send_interaction(
        "ask", {"question": "floating solar farm"}, channel=stranger.channel("general")
    )
    reply = await handle.reply()
    assert "only works in the servers it has joined" in reply["content"] and reply["flags"] & 64


async def test_a_channel_overwrite_does_not_make_a_moderator(two: FakeDiscord) -> None:
    two.overwrites[(two.channel.id, two.member.id)] = MANAGE_MESSAGES
    reply = await (await two.send_interaction("logs recent", user=two.member)).reply()
    assert "Only moderators" in reply["content"] and not reply["embeds"]
    reply = await (await two.send_interaction("logs recent", user=two.mod)).reply()  # a real one
    assert reply["embeds"]


async def test_the_everyone_role_as_an_admin_role_is_refused_at_start_up(settings: Settings) -> None:
    home = 1111222233334444
    for field in ("admin_role_ids", "mod_role_ids"):
        wrong = serving_settings(settings, home, **{field: frozenset({home, 42})})
        with pytest.raises(ConfigError, match="@everyone role"):
            await serve(wrong)


def serving_settings(settings: Settings, home: int, **changes: Any) -> Settings:
    import dataclasses

    return dataclasses.replace(settings, discord_token="t", home_guild_id=home, **changes)


async def test_a_gzip_bomb_upload_is_refused_at_once(two: FakeDiscord, settings: Settings) -> None:
    bomb = gzip.compress(b"0" * 100_000_000, 9)  # ~100 kB that inflates to 100 MB
    began = time.perf_counter()
    add = await two.send_interaction("corpus add", {"file": Upload("news.jsonl.gz", bomb)}, user=two.owner)
    reply = await add.reply()
    took = time.perf_counter() - began
    assert "compression bomb" in reply["content"] and reply["flags"] & 64
    assert took < 1.0, f"took {took:.2f} s"
    assert not list(settings.corpus_dir.rglob("news*"))  # nothing saved


async def test_a_bad_file_gets_its_reason(two: FakeDiscord) -> None:
    cases = {
        "deep.json": b"[" * 50_000 + b"]" * 50_000,
        "torn.jsonl.gz": gzip.compress(json.dumps(POISON).encode() * 50)[:-30] + b"junk",
        "photo.txt": bytes(range(1, 256)) * 40,  # binary without a NUL byte
    }
    for name, data in cases.items():
        add = await two.send_interaction("corpus add", {"file": Upload(name, data)}, user=two.owner)
        content = (await add.reply())["content"]
        assert content.startswith(f"No article could be read from {name}"), content
        assert "something went wrong" not in content
