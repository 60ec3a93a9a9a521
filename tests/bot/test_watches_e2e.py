"""Watches end to end: `runner.serve` (what `newsbot run` runs) on the fake Discord, with articles
added to the corpus and indexed by another engine (as `newsbot index` or the feed poller would),
which the running bot follows and its delivery loop checks."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from discord.http import Route

from newsbot.bot import deliveries
from newsbot.bot.cogs import watches as watch_cog
from newsbot.engine import Engine
from newsbot.index.store import Index
from newsbot.leader import DELIVERIES, FileLeadership
from newsbot.records import BuildReport
from newsbot.settings import Settings
from newsbot.watches import Delivery, Watch, open_watch_store

from .fakediscord import FakeDiscord
from .support import pings
from .test_e2e import served, serving

QUERY = "lighthouse keepers strike"


def today() -> str:
    return datetime.now(UTC).date().isoformat()


PLACES = ["northern", "southern", "eastern", "western", "island", "river", "harbour", "cliff"]
DETAILS = [
    "Union leaders met the ministry on Monday and no deal was reached.",
    "Ferries were told to slow down after three lamps went dark overnight.",
    "The coastguard sent a cutter to watch the reef until the dispute ends.",
    "Fishermen brought soup and blankets to the picket at the harbour wall.",
    "A retired keeper of forty years said he had never seen such anger.",
    "Shipping insurers raised premiums for night crossings by a fifth.",
    "Schoolchildren painted banners in support of the striking crews.",
    "The minister promised an independent review of pay by the summer.",
]


def story(n: int, **changes: Any) -> dict[str, Any]:
    """A new article on the watched topic; `n` makes a different story (other words, other id)."""
    place = PLACES[n % len(PLACES)]
    article = {
        "id": f"lamp-{n}",
        "title": f"Lighthouse keepers strike on the {place} coast",
        "text": f"Lighthouse keepers of the {place} coast went on strike over pay. "
        + DETAILS[n % len(DETAILS)],
        "date": today(),
        "source": "Coast Herald",
        "url": f"https://example.org/lamp-{n}",
    }
    return {**article, **changes}


def write(folder: Path, name: str, *articles: dict[str, Any]) -> None:
    """Written now. Its time is set from the clock that dates a watch: the kernel dates a file by
    its coarse clock, up to a tick behind, and a file written a few ms after a watch was made
    then read as written before it, the watch's backlog (an occasional failure of these tests)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(a) + "\n" for a in articles))
    now = time.time_ns()
    os.utime(folder / name, ns=(now, now))


def reindex(settings: Settings) -> BuildReport:
    """Index the corpus from another engine, as another process would; the bot follows it."""
    engine = Engine.open(settings, build_if_missing=False)
    try:
        return engine.reindex()
    finally:
        engine.close()


class Store:
    """The bot's watches database, read by the test through its own connection."""

    def __init__(self, settings: Settings) -> None:
        self.store = open_watch_store(settings)
        self.settings = settings

    async def poll(self, check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while not (found := check()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout}s for {what}")
            await asyncio.sleep(0.05)
        return found

    async def backlog_taken(self) -> None:
        await self.poll(self.store.seen, "the bot's first check (the backlog)")

    async def delivered(self) -> None:
        """Until the bot has checked the live index and posted every instant match (a paused
        watch's wait)."""
        index = Index.load(self.settings.index_dir)
        assert index is not None
        want = {(a.id, a.content_hash) for a in index.articles}

        def done() -> bool:
            looked = want <= set(self.store.seen().items())
            return looked and all(m.watch.paused for m in self.store.pending(Delivery.NOW))

        await self.poll(done, "the bot to check the new index and post its matches")

    def watch(self, watch_id: int) -> Watch:
        return self.store.get(None, watch_id)

    def matches(self, watch_id: int) -> list[str]:
        return [m.article.id for m in reversed(self.store.recent(watch_id, 100))]


async def add_and_index(store: Store, settings: Settings, name: str, *articles: dict[str, Any]) -> None:
    write(settings.corpus_dir / "new", name, *articles)
    await asyncio.to_thread(reindex, settings)
    await store.delivered()


class DigestClock:
    """Stands in for the daily digest hour: due only once the test says so."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = False
        monkeypatch.setattr(deliveries, "digest_due", lambda last, now: self.now)


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> Iterator[DigestClock]:
    monkeypatch.setattr(deliveries, "TICK", 0.05)
    yield DigestClock(monkeypatch)


@pytest.fixture
async def live(
    fake_discord: FakeDiscord, settings: Settings, fast: DigestClock
) -> AsyncIterator[tuple[FakeDiscord, Store]]:
    """The bot in Newsroom (home and dev guild), #mod-log as the mod channel, with a backlog
    article on the watched topic indexed before any watch exists."""
    fake = fake_discord
    write(settings.corpus_dir / "old", "backlog.jsonl", story(0, id="lamp-backlog"))
    home = fake.guild.id
    mod = fake.guild.channel("mod-log").id
    store = Store(settings)
    try:
        on = serving(fake, settings, dev_guild_id=home, home_guild_id=home, mod_channel_id=mod)
        async with served(fake, on, home):
            await store.backlog_taken()
            yield fake, store
    finally:
        store.store.close()
    assert pings(fake) == []


async def add_watch(fake: FakeDiscord, options: dict[str, Any], user: Any = None) -> dict[str, Any]:
    reply: dict[str, Any] = await (await fake.send_interaction("watch add", options, user=user)).reply()
    assert reply["flags"] & 64
    return reply


def in_channel(fake: FakeDiscord, name: str) -> list[dict[str, Any]]:
    channel = str(fake.guild.channel(name).id)
    bot = str(fake.bot_user.id)
    return [
        m
        for _, m in sorted(fake.messages.items())
        if m["channel_id"] == channel and m["author"]["id"] == bot and not m["flags"] & 64
    ]


async def test_a_watch_fires_once_for_a_new_article_not_the_backlog_an_update_or_a_copy(
    live: tuple[FakeDiscord, Store], settings: Settings
) -> None:
    fake, store = live
    added = await add_watch(fake, {"query": QUERY})
    assert "Watch #1" in added["content"] and "by DM" in added["content"]

    await add_and_index(store, settings, "one.jsonl", story(1))
    [post] = fake.dms(fake.member)
    [embed] = post["embeds"]
    assert embed["title"] == "Lighthouse keepers strike on the southern coast"
    assert embed["url"] == "https://example.org/lamp-1"
    assert "**strike**" in embed["description"] and "**Lighthouse**" in embed["description"]
    assert embed["footer"]["text"] == f"Watch #1: {QUERY}"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Source"] == "Coast Herald" and fields["Date"].startswith("<t:")

    # The same article updated, then a copy under another id with another footer: no new post.
    await add_and_index(store, settings, "one.jsonl", story(1, text=story(1)["text"] + " Talks resume."))
    copy = story(1, id="lamp-1-copy", url="https://example.org/copy", source="Wire Service")
    copy["text"] += " Distributed by Wire Service."
    await add_and_index(store, settings, "copy.jsonl", copy)
    index = Index.load(settings.index_dir)
    assert index is not None and "lamp-1-copy" in {a.id for a in index.articles}  # indexed, not posted
    assert len(fake.dms(fake.member)) == 1
    assert store.matches(1) == ["lamp-1"]  # the backlog's matching article never fired


async def test_channel_watches_need_manage_channels_and_list_shows_whose(
    live: tuple[FakeDiscord, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, _ = live
    monkeypatch.setattr(watch_cog, "MAX_PER_MEMBER", 1)
    general = fake.guild.channel("general")
    refused = await fake.send_interaction("watch add", {"query": QUERY, "channel": general})
    body = await refused.wait_callback()
    assert body["data"]["flags"] & 64 and "Manage Channels" in body["data"]["content"]

    await add_watch(fake, {"query": QUERY, "channel": general}, user=fake.admin)
    await add_watch(fake, {"query": "rail strike", "mode": "daily"})
    too_many = await add_watch(fake, {"query": "chess"})
    assert too_many["content"].startswith("You have 1 watches in this server")
    mine = (await (await fake.send_interaction("watch list")).reply())["embeds"][0]
    assert mine["title"] == "Your watches" and "rail strike" in mine["description"]
    assert QUERY not in mine["description"]
    everyone = (await (await fake.send_interaction("watch list", user=fake.mod)).reply())["embeds"][0]
    assert everyone["title"] == "This server's watches"
    assert QUERY in everyone["description"] and f"<#{general.id}>" in everyone["description"]

    other = await (await fake.send_interaction("watch remove", {"watch_id": 1})).reply()
    assert "someone else's" in other["content"]
    gone = await (await fake.send_interaction("watch remove", {"watch_id": 1}, user=fake.admin)).reply()
    assert gone["content"].startswith("Watch #1 “lighthouse keepers strike” removed")


async def test_the_hourly_cap_rolls_into_the_digest_and_daily_watches_batch(
    live: tuple[FakeDiscord, Store], settings: Settings, fast: DigestClock
) -> None:
    fake, store = live
    general = fake.guild.channel("general")
    await add_watch(fake, {"query": QUERY, "channel": general}, user=fake.admin)
    await add_watch(fake, {"query": QUERY, "mode": "daily"})
    await add_and_index(store, settings, "many.jsonl", *[story(n) for n in range(1, 8)])
    assert len(in_channel(fake, "general")) == 5  # the hourly cap; the other 2 wait for the digest
    assert fake.dms(fake.member) == []  # the daily watch waits for the digest hour

    fast.now = True
    await store.poll(lambda: len(in_channel(fake, "general")) == 6 and fake.dms(fake.member), "the digests")
    fast.now = False
    digest = in_channel(fake, "general")[-1]["embeds"][0]
    assert digest["title"].startswith("Digest of watch #1")
    assert digest["description"].count("Lighthouse keepers strike") == 2
    [daily] = fake.dms(fake.member)
    assert daily["embeds"][0]["title"] == f"Digest of watch #2 “{QUERY}”"
    assert daily["embeds"][0]["footer"]["text"] == "7 new articles since the last digest"


async def test_a_muted_watch_posts_nothing_until_resumed(
    live: tuple[FakeDiscord, Store], settings: Settings
) -> None:
    fake, store = live
    await add_watch(fake, {"query": QUERY})
    muted = await (await fake.send_interaction("watch mute", {"watch_id": 1, "for": "2h"})).reply()
    assert muted["content"].startswith("Watch #1 “lighthouse keepers strike” muted until <t:")
    await add_and_index(store, settings, "muted.jsonl", story(1))
    assert fake.dms(fake.member) == []

    await (await fake.send_interaction("watch resume", {"watch_id": 1})).reply()
    await add_and_index(store, settings, "after.jsonl", story(2))
    assert [p["embeds"][0]["url"] for p in fake.dms(fake.member)] == ["https://example.org/lamp-2"]
    assert store.matches(1) == ["lamp-1", "lamp-2"]  # the muted one counted, and never posts


async def test_closed_dms_pause_the_watch_and_the_server_is_told_once(
    live: tuple[FakeDiscord, Store], settings: Settings
) -> None:
    fake, store = live
    fake.closed_dms.add(fake.member)
    await add_watch(fake, {"query": QUERY})
    await add_and_index(store, settings, "two.jsonl", story(1), story(2))
    await add_and_index(store, settings, "three.jsonl", story(3))
    assert fake.dms(fake.member) == []
    assert store.watch(1).paused and "DMs" in str(store.watch(1).paused)
    [notice] = in_channel(fake, "mod-log")
    assert notice["content"].startswith("Watch #1 “lighthouse keepers strike” for <@")
    assert "/watch resume 1" in notice["content"] and not notice["mentions"]
    assert in_channel(fake, "general") == []
    listed = (await (await fake.send_interaction("watch list")).reply())["embeds"][0]
    assert "paused: I cannot send them DMs" in listed["description"]


async def test_a_channel_that_refuses_pauses_its_watch_and_the_mod_channel_is_told(
    live: tuple[FakeDiscord, Store], settings: Settings
) -> None:
    fake, store = live
    general = fake.guild.channel("general")
    await add_watch(fake, {"query": QUERY, "channel": general}, user=fake.admin)
    fake.muted_channels.add(general.id)
    await add_and_index(store, settings, "refused.jsonl", story(1))
    assert store.watch(1).paused == "I may not post in its channel any more"
    async with asyncio.timeout(10):  # the watch is paused first, then the moderators are told
        while not in_channel(fake, "mod-log"):
            await asyncio.sleep(0.02)
    [notice] = in_channel(fake, "mod-log")
    assert notice["content"].startswith("Watch #1 “lighthouse keepers strike” for <@")

    fake.muted_channels.clear()  # the permission is given back: once resumed, new articles post
    await (await fake.send_interaction("watch resume", {"watch_id": 1}, user=fake.admin)).reply()
    await add_and_index(store, settings, "given-back.jsonl", story(2))
    assert [p["embeds"][0]["url"] for p in in_channel(fake, "general")] == ["https://example.org/lamp-2"]


@pytest.fixture
async def two(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, fast: DigestClock
) -> AsyncIterator[tuple[FakeDiscord, Store]]:
    """The bot served globally in Newsroom (home) and Elsewhere."""
    monkeypatch.setattr(Route, "BASE", Route.BASE)
    store = Store(settings)
    async with FakeDiscord(guild_names=("Newsroom", "Elsewhere")) as fake:
        try:
            async with served(fake, serving(fake, settings, home_guild_id=fake.guilds[0].id), None):
                await store.backlog_taken()
                yield fake, store
        finally:
            store.store.close()
        assert pings(fake) == [] and not fake.errors and not fake.unknown_routes


async def test_a_guilds_watch_never_sees_another_guilds_content(
    two: tuple[FakeDiscord, Store], settings: Settings
) -> None:
    fake, store = two
    home, elsewhere = (g.channel("general") for g in fake.guilds)
    await (await fake.send_interaction("watch add", {"query": QUERY}, channel=home)).reply()
    await (
        await fake.send_interaction("watch add", {"query": QUERY}, user=fake.admin, channel=elsewhere)
    ).reply()

    # Elsewhere's own content (as /corpus add there puts it), then the operator's.
    write(settings.corpus_dir / "guilds" / str(fake.guilds[1].id) / "uploads", "theirs.jsonl", story(1))
    await asyncio.to_thread(reindex, settings)
    await store.delivered()
    assert fake.dms(fake.member) == [] and len(fake.dms(fake.admin)) == 1
    await add_and_index(store, settings, "operator.jsonl", story(2))
    assert [p["embeds"][0]["url"] for p in fake.dms(fake.member)] == ["https://example.org/lamp-2"]
    assert store.matches(1) == ["lamp-2"] and store.matches(2) == ["lamp-1", "lamp-2"]


async def test_only_the_leading_process_delivers(
    live: tuple[FakeDiscord, Store], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process leads (a lock held on another open file): this bot checks and posts
    nothing; once the lead is free it takes it and catches up."""
    fake, store = live
    deliveries.leadership(settings, DELIVERIES).release()  # the bot's: as if it had lost the lead
    monkeypatch.setattr(deliveries, "LEAD_EVERY", 0.1)
    other = FileLeadership(settings.data_dir, DELIVERIES)
    assert other.try_acquire()
    await add_watch(fake, {"query": QUERY})
    write(settings.corpus_dir / "new", "led.jsonl", story(1))
    await asyncio.to_thread(reindex, settings)
    await asyncio.sleep(0.5)
    assert fake.dms(fake.member) == [] and store.matches(1) == []
    other.release()
    await store.delivered()
    assert len(fake.dms(fake.member)) == 1


def test_digest_hour_is_passed_once_a_day() -> None:
    day = datetime(2026, 3, 1, tzinfo=UTC)
    at = day.replace(hour=deliveries.DIGEST_HOUR)
    assert deliveries.digest_due(at - timedelta(minutes=1), at)
    assert not deliveries.digest_due(at, at + timedelta(hours=23))
    assert deliveries.digest_due(at, at + timedelta(days=1))
