"""Shards: `newsbot run` with NEWSBOT_SHARD_COUNT / NEWSBOT_SHARD_IDS on a fake Discord that
routes each guild to shard `(guild_id >> 22) % shard_count`, as Discord does."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import pytest
from discord.http import Route

from newsbot.bot import runner
from newsbot.bot.client import NewsBot, ShardedNewsBot, make_bot
from newsbot.errors import ConfigError
from newsbot.settings import Settings

from .fakediscord import FakeDiscord
from .test_e2e import serving


@pytest.fixture
async def two_shards(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A fake Discord serving two shards, one guild on each."""
    monkeypatch.setattr(Route, "BASE", Route.BASE)  # apply_endpoints sets it process wide
    async with FakeDiscord(shard_count=2, guild_names=("Newsroom", "Harbour")) as fake:
        yield fake
    assert not fake.unknown_routes and not fake.errors, (fake.unknown_routes, fake.errors)


def _ready(fake: FakeDiscord) -> bool:
    """Every guild created on its shard's session, and the commands synced."""
    for guild in fake.guilds:
        session = fake.gateway.session_for(guild.id)
        if session is None or not any(
            f["t"] == "GUILD_CREATE" and f["d"]["id"] == str(guild.id) for f in session.sent
        ):
            return False
    return bool(fake.commands.get(None))


@contextlib.asynccontextmanager
async def served(fake: FakeDiscord, *all_settings: Settings) -> AsyncIterator[None]:
    """`runner.serve` once per settings (one per "process") until the block ends."""
    tasks = [asyncio.create_task(runner.serve(s)) for s in all_settings]

    def ready() -> bool | None:
        for task in tasks:
            if task.done():
                task.result()
        return True if _ready(fake) else None

    try:
        await fake.until(ready, 20, "every shard to be ready")
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _answered_in_every_guild(fake: FakeDiscord) -> None:
    for guild in fake.guilds:
        handle = await fake.send_interaction(
            "ask", {"question": "who was sanctioned?"}, channel=guild.channels[0]
        )
        reply = await handle.reply(timeout=10)
        assert "Kadyrov" in reply["embeds"][0]["description"]


def test_the_fake_puts_its_guilds_on_every_shard() -> None:
    fake = FakeDiscord(shard_count=3, guild_names=("a", "b", "c", "d"))
    assert [fake.shard_of(g.id) for g in fake.guilds] == [0, 1, 2, 0]
    ids = [g.id for g in fake.guilds]
    assert ids == sorted(ids) and len(set(ids)) == 4


async def test_two_processes_each_serve_their_shard(two_shards: FakeDiscord, settings: Settings) -> None:
    fake = two_shards
    base = serving(fake, settings, shard_count=2)
    first, second = (dataclasses.replace(base, shard_ids=frozenset({i})) for i in (0, 1))
    async with served(fake, first, second):
        identified = sorted(c.identify["shard"] for c in fake.gateway.connections if c.identify)
        assert identified == [[0, 2], [1, 2]]
        for shard, guild in enumerate(fake.guilds):
            session = fake.gateway.shards[shard]
            created = [f["d"]["id"] for f in session.sent if f["t"] == "GUILD_CREATE"]
            assert created == [str(guild.id)]  # each shard gets its own guild only
        await _answered_in_every_guild(fake)


async def test_shard_count_zero_asks_discord_and_serves_every_shard(
    two_shards: FakeDiscord, settings: Settings
) -> None:
    fake = two_shards
    async with served(fake, serving(fake, settings, shard_count=0)):
        assert fake.find_requests("GET", "/gateway/bot")
        assert sorted(fake.gateway.shards) == [0, 1]
        await _answered_in_every_guild(fake)


def test_the_client_follows_the_settings(settings: Settings) -> None:
    plain = make_bot(settings)
    assert type(plain) is NewsBot and plain.shard_count is None
    sharded = make_bot(dataclasses.replace(settings, shard_count=4, shard_ids=frozenset({3, 1})))
    assert isinstance(sharded, ShardedNewsBot)
    assert (sharded.shard_count, sharded.shard_ids) == (4, [1, 3])


@pytest.mark.parametrize(
    ("count", "ids", "message"),
    [(None, {0}, "needs NEWSBOT_SHARD_COUNT"), (0, {1}, "needs"), (2, {0, 2}, "contains 2.*0 to 1")],
)
def test_shard_ids_that_cannot_work_are_one_line(
    settings: Settings, count: int | None, ids: set[int], message: str
) -> None:
    wrong = dataclasses.replace(settings, discord_token="t", shard_count=count, shard_ids=frozenset(ids))
    with pytest.raises(ConfigError, match=message) as caught:
        runner.run(wrong)
    assert "\n" not in caught.value.message
