"""Feeds end to end: `runner.serve` (what `newsbot run` runs) on the fake Discord, following feeds
served by the local feed server on 127.0.0.1, polled in the background on a clock the test moves."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from discord.http import Route

from newsbot.bot import background, deliveries
from newsbot.bot.background import Timing
from newsbot.feeds.fetch import Limits
from newsbot.leader import FileLeadership
from newsbot.settings import Settings
from tests.feeds.server import FeedServer, Item, page, rss

from .fakediscord import FakeDiscord
from .support import pings
from .test_e2e import served, serving

NAP = 0.1  # seconds between two looks at the schedule, in these tests


@dataclass
class Clock:
    """The poller's clock: real time, moved ahead by the test (no feed waits 30 real minutes)."""

    ahead: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead

    def advance(self, by: timedelta) -> None:
        self.ahead += by


# Made-up articles (written for these tests), long enough for the page extractor to keep them.
STORIES = [
    (
        "Quokka census finds record numbers on the island",
        "Rangers counting quokkas on the island found a record 12,400 animals this spring, "
        "the wildlife service said on Tuesday. The census team walked every trail at dawn.",
    ),
    (
        "Glassblowers revive the lighthouse lens workshop",
        "A guild of glassblowers reopened the old lighthouse lens workshop in Marlow on Friday, "
        "grinding a new Fresnel lens by hand for the first time in ninety years.",
    ),
    (
        "Beekeepers move hives to the rooftop of the opera house",
        "Forty beehives were lifted by crane onto the opera house roof on Sunday, where the "
        "beekeepers say the bees will feed on the lime trees of the boulevard.",
    ),
]


class Newsfeed:
    """One feed on the local server; `publish` adds the next story (with its page) to it."""

    def __init__(self, server: FeedServer, path: str, title: str) -> None:
        self.server, self.path, self.title = server, path, title
        self.items: list[Item] = []

    @property
    def url(self) -> str:
        return self.server.url(self.path)

    def publish(self, n: int) -> Item:
        title, text = STORIES[n]
        link = self.server.url(f"{self.path}/story-{n}")
        body = "\n\n".join([text] * 4)  # a real page's length, so its text is extracted
        self.server.serve(f"{self.path}/story-{n}", page(title, body))
        item = Item(title, body, link=link, guid=f"{self.path}-{n}", date=datetime.now(UTC))
        self.items.append(item)
        self.server.serve(self.path, rss(self.items, title=self.title))
        return item


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    srv = await FeedServer().start()
    yield srv
    await srv.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    timing = Timing(clock=moved, nap=NAP, leader_retry=NAP, limits=Limits(host_spacing=0.0))
    monkeypatch.setattr(background, "TIMING", timing)
    return moved


def feed_settings(fake: FakeDiscord, settings: Settings, **changes: Any) -> Settings:
    home = fake.guilds[0]
    return serving(
        fake,
        settings,
        home_guild_id=home.id,
        feeds_allow_private=True,  # the local feed server is on 127.0.0.1
        mod_channel_id=home.channel("mod-log").id,
        **changes,
    )


@pytest.fixture
async def two(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, clock: Clock
) -> AsyncIterator[FakeDiscord]:
    """The bot served globally, in Newsroom (home) and Elsewhere, polling feeds."""
    monkeypatch.setattr(Route, "BASE", Route.BASE)
    async with FakeDiscord(guild_names=("Newsroom", "Elsewhere")) as fake:
        async with served(fake, feed_settings(fake, settings, feeds_per_guild=2), None):
            yield fake
        assert pings(fake) == []
        assert not fake.errors and not fake.unknown_routes


async def ask(fake: FakeDiscord, question: str, channel: Any = None) -> str:
    reply = await (await fake.send_interaction("ask", {"question": question}, channel=channel)).reply()
    return json.dumps(reply["embeds"], ensure_ascii=False) + (reply.get("content") or "")


async def answered(fake: FakeDiscord, question: str, needle: str, channel: Any = None) -> str:
    """Ask until the answer holds `needle` (the background poll and reindex take a moment)."""
    deadline = time.monotonic() + 30
    while True:
        text = await ask(fake, question, channel)
        if needle in text or time.monotonic() > deadline:
            return text
        await asyncio.sleep(0.2)  # let the bot poll and reindex


async def feeds(fake: FakeDiscord, command: str, options: dict[str, Any] | None = None, **kw: Any) -> str:
    handle = await fake.send_interaction(f"feeds {command}", options or {}, **kw)
    reply = await handle.reply(timeout=20)
    assert reply["flags"] & 64  # private
    return json.dumps(reply["embeds"], ensure_ascii=False) + (reply.get("content") or "")


async def eventually(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait until `check()` holds (the feed server's log is no fake Discord change to wait on)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what} in vain"
        await asyncio.sleep(0.05)


def elsewhere(fake: FakeDiscord) -> Any:
    return fake.guilds[1].channel("general")


async def test_a_new_item_in_a_followed_feed_is_answered_with_its_link(
    two: FakeDiscord, feed_server: FeedServer, clock: Clock, settings: Settings
) -> None:
    wire = Newsfeed(feed_server, "/wire", "Island Wire")
    wire.publish(0)
    added = await feeds(two, "add", {"url": wire.url}, user=two.owner)
    assert "Following “Island Wire” (#1, 1 item now), every 30m" in added
    assert "in every server" in added  # the home server's feeds are the operator's
    first = await answered(two, "how many quokkas were counted?", wire.items[0].link or "")
    assert wire.items[0].link in first and "Island Wire" in first

    new = wire.publish(1)  # a new item appears; the next poll is due 30 minutes on
    appeared = time.monotonic()
    clock.advance(timedelta(minutes=40))
    text = await answered(two, "who reopened the lighthouse lens workshop?", new.link or "")
    took = time.monotonic() - appeared
    assert f"[Glassblowers revive the lighthouse lens workshop]({new.link})" in text
    assert "Island Wire" in text and "<t:" in text  # source and date, as any article shows them
    print(f"\nnew feed item to /ask answering from it (next poll due): {took:.1f} s")
    files = (settings.corpus_dir / "feeds" / "island-wire").glob("*.md")
    assert len(list(files)) == 2  # ordinary article files in the operator's corpus


async def test_a_servers_feed_is_answered_there_only(
    two: FakeDiscord, feed_server: FeedServer, settings: Settings
) -> None:
    wire = Newsfeed(feed_server, "/bees", "Hive Wire")
    item = wire.publish(2)
    added = await feeds(two, "add", {"url": wire.url, "every": "2h"}, user=two.owner, channel=elsewhere(two))
    assert "every 2h" in added and "in this server only" in added
    there = await answered(two, "beehives on the opera house roof", item.link or "", elsewhere(two))
    assert item.link in there
    assert item.link not in await ask(two, "beehives on the opera house roof")  # the home server
    guild = two.guilds[1].id
    assert list((settings.corpus_dir / "guilds" / str(guild) / "feeds" / "hive-wire").glob("*.md"))
    assert not (settings.corpus_dir / "feeds").exists()
    # Each server sees and removes only its own feeds.
    assert "No feeds yet" in await feeds(two, "list", user=two.owner)
    assert "No feed “1”" in await feeds(two, "remove", {"feed": "1"}, user=two.owner)
    listed = await feeds(two, "list", user=two.owner, channel=elsewhere(two))
    assert "#1 **Hive Wire**" in listed
    removed = await feeds(two, "remove", {"feed": "Hive Wire"}, user=two.owner, channel=elsewhere(two))
    assert "Stopped following “Hive Wire” (#1)" in removed
    assert "No feeds yet" in await feeds(two, "list", user=two.owner, channel=elsewhere(two))


async def test_status_limit_and_who_may(two: FakeDiscord, feed_server: FeedServer) -> None:
    feeds_here = [Newsfeed(feed_server, f"/f{n}", f"Feed {n}") for n in range(3)]
    for n, wire in enumerate(feeds_here):
        wire.publish(n)
    with pytest.raises(PermissionError):  # hidden from members
        await two.send_interaction("feeds add", {"url": feeds_here[0].url}, user=two.member)
    there = {"user": two.owner, "channel": elsewhere(two)}
    for wire in feeds_here[:2]:
        assert "Following" in await feeds(two, "add", {"url": wire.url}, **there)
    again = await feeds(two, "add", {"url": feeds_here[0].url}, **there)
    assert "already follows 2 feeds" in again  # the per-server limit is checked first
    refused = await feeds(two, "add", {"url": feeds_here[2].url}, **there)
    assert "already follows 2 feeds, the most it may (2)" in refused
    assert "at most every 10 minutes" in await feeds(
        two, "add", {"url": feeds_here[2].url, "every": "1m"}, user=two.owner
    )
    shown = await feeds(two, "status", {"feed": "Feed 0"}, **there)
    assert "#1 Feed 0" in shown and "next poll:" in shown and "errors in a row: 0" in shown
    everything = await (await two.send_interaction("feeds status", {}, **there)).reply(timeout=20)
    assert [f["name"] for f in everything["embeds"][0]["fields"]] == ["#1 Feed 0", "#2 Feed 1"]


@pytest.mark.parametrize("home", [True, False])
async def test_a_feed_failing_for_a_day_is_reported_once_to_the_mod_channel(
    two: FakeDiscord, feed_server: FeedServer, clock: Clock, home: bool
) -> None:
    """The mod channel is in the home server: the operator's feed is reported there, another
    server's feed is not (its name and address are that server's business)."""
    wire = Newsfeed(feed_server, "/flaky", "Flaky Wire")
    wire.publish(0)
    where = {} if home else {"channel": elsewhere(two)}
    assert "Following" in await feeds(two, "add", {"url": wire.url}, user=two.owner, **where)
    await eventually(lambda: len(feed_server.hits("/flaky")) >= 2, "the first poll")
    feed_server.serve("/flaky", "down for maintenance", status=500)
    mod_log = two.guilds[0].channel("mod-log").id

    def notices() -> list[dict[str, Any]]:
        return [m for m in two.messages.values() if int(m["channel_id"]) == mod_log]

    for day in range(4):  # failing polls a day apart: for 0, 25, 50, 75 h (the 4th ends the 3rd round)
        polls = len(feed_server.hits("/flaky"))
        clock.advance(timedelta(hours=25))
        await eventually(lambda n=polls: len(feed_server.hits("/flaky")) > n, f"poll {day}")
        await two.settle()
    if not home:
        assert notices() == []
        return
    await two.until(lambda: notices() or None, 10, "the notice")
    [notice] = notices()
    assert "“Flaky Wire”" in notice["content"] and "has failed for" in notice["content"]
    assert "HTTP 500" in notice["content"]


async def test_the_polling_process_holds_the_lead(
    two: FakeDiscord, feed_server: FeedServer, settings: Settings
) -> None:
    wire = Newsfeed(feed_server, "/led", "Led Wire")
    wire.publish(0)
    assert "Following" in await feeds(two, "add", {"url": wire.url}, user=two.owner)
    await eventually(lambda: len(feed_server.hits("/led")) >= 2, "the first poll")
    assert not FileLeadership(settings.data_dir).try_acquire()  # no other process may poll now


async def test_a_follower_polls_once_the_leader_is_gone(
    fake_discord: FakeDiscord, settings: Settings, feed_server: FeedServer, clock: Clock
) -> None:
    other = FileLeadership(settings.data_dir)  # another process leads before the bot starts
    assert other.try_acquire()
    wire = Newsfeed(feed_server, "/led", "Led Wire")
    wire.publish(0)
    fake = fake_discord
    async with served(fake, feed_settings(fake, settings), None):
        assert "Following" in await feeds(fake, "add", {"url": wire.url}, user=fake.owner)
        checked = len(feed_server.hits("/led"))  # the check of /feeds add
        await asyncio.sleep(1.0)  # ten naps: a follower never polls
        assert len(feed_server.hits("/led")) == checked
        other.release()  # the leader stops: the bot takes over and polls
        await eventually(lambda: len(feed_server.hits("/led")) > checked, "a poll")


async def test_a_new_feed_item_fires_a_watch_once_and_the_backlog_never(
    two: FakeDiscord, feed_server: FeedServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deliveries, "TICK", 0.05)
    wire = Newsfeed(feed_server, "/coast", "Coast Wire")
    wire.publish(1)  # on the watched topic, but there before the watch: the backlog
    await feeds(two, "add", {"url": wire.url}, user=two.owner)
    await answered(two, "lighthouse lens workshop glassblowers", wire.items[0].link or "")
    watch = await (await two.send_interaction("watch add", {"query": "glassblowers lens workshop"})).reply()
    assert "Watch #1" in watch["content"]

    text = (
        "Glassblowers in Lindqvist opened a second lens workshop on Monday, training six apprentices "
        "to grind lighthouse lenses by hand. The harbour board paid for the furnace. "
    ) * 4  # a story of its own, not a copy of the first (copies are folded, never posted)
    link = feed_server.url("/coast/second")
    feed_server.serve("/coast/second", page("Second lens workshop opens for glassblowers", text))
    wire.items.append(
        Item(
            "Second lens workshop opens for glassblowers", text, link=link, guid="g2", date=datetime.now(UTC)
        )
    )
    feed_server.serve(wire.path, rss(wire.items, title=wire.title))
    clock.advance(timedelta(minutes=40))
    await eventually(lambda: len(two.dms(two.member)) >= 1, "the watch's post", timeout=30)
    await asyncio.sleep(1.0)  # more polls and checks: nothing else may come
    [post] = two.dms(two.member)
    assert post["embeds"][0]["url"] == link  # the new article, never the backlog


async def test_a_servers_feed_never_fires_another_servers_watch(
    two: FakeDiscord, feed_server: FeedServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deliveries, "TICK", 0.05)
    here = await (await two.send_interaction("watch add", {"query": "beehives opera house"})).reply()
    there = await (
        await two.send_interaction("watch add", {"query": "beehives opera house"}, channel=elsewhere(two))
    ).reply()
    assert "Watch #1" in here["content"] and "Watch #2" in there["content"]
    hives = Newsfeed(feed_server, "/hives", "Hive Wire")
    hives.server.serve(hives.path, rss([], title=hives.title))
    await feeds(two, "add", {"url": hives.url}, user=two.owner, channel=elsewhere(two))  # Elsewhere's
    item = hives.publish(2)
    clock.advance(timedelta(minutes=40))
    await eventually(lambda: len(two.dms(two.member)) >= 1, "the watch's post", timeout=30)
    await asyncio.sleep(1.0)  # more polls and checks: Newsroom's watch must stay silent
    [post] = two.dms(two.member)
    assert post["embeds"][0]["url"] == item.link
    assert post["embeds"][0]["footer"]["text"].startswith("Watch #2")  # Elsewhere's watch only
