"""End to end, the moderator side: `/logs`, 👍 / 👎 and the mod channel, through the fake
Discord, with the bot served by `runner.serve` (what `newsbot run` runs) over a real engine
and a real query log; the bot is restarted to show the vote buttons are persistent.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from discord.http import Route

from newsbot.bot import runner
from newsbot.querylog import LoggedQuery, QueryRecord, SqliteQueryLog
from newsbot.settings import Settings

from .fakediscord import FakeDiscord
from .fakediscord.payloads import EPHEMERAL
from .support import pings

JSON = dict[str, Any]


class Served:
    """The bot, run by `runner.serve` as a task that can be stopped and started again."""

    def __init__(self, fake: FakeDiscord, settings: Settings) -> None:
        self.fake, self.settings = fake, settings
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        before = len(self.fake.gateway.connections)
        self.task = asyncio.create_task(runner.serve(self.settings))
        await self.fake.until(lambda: self._ready(before), 20, "the bot to be ready")

    def _ready(self, before: int) -> bool | None:
        assert self.task is not None
        if self.task.done():
            self.task.result()  # raise what stopped it
        session = self.fake.gateway.session
        fresh = len(self.fake.gateway.connections) > before and session is not None
        guilds = sum(f["t"] == "GUILD_CREATE" for f in session.sent) if fresh and session else 0
        return True if guilds == len(self.fake.guilds) and self.fake.commands else None

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """Like the `fake_discord` fixture, with a second guild to keep out of the first's logs;
    afterwards, nothing the bot sent may have pinged anyone."""
    monkeypatch.setattr(Route, "BASE", Route.BASE)
    async with FakeDiscord(guild_names=("Newsroom", "Elsewhere")) as fake:
        yield fake
    assert not fake.unknown_routes, f"routes the fake does not know: {fake.unknown_routes}"
    assert not fake.errors, f"requests Discord would refuse: {fake.errors}"
    assert pings(fake) == []


@pytest.fixture
def target(fake: FakeDiscord, settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        discord_token=fake.token,
        cooldown_seconds=0,
        discord_api_base=fake.api_base,
        discord_gateway_url=fake.gateway_url,
        dev_guild_id=fake.guild.id,
        home_guild_id=fake.guild.id,
        mod_channel_id=fake.guild.channel("mod-log").id,
    )


@pytest.fixture
async def bot(fake: FakeDiscord, target: Settings) -> AsyncIterator[Served]:
    served = Served(fake, target)
    await served.start()
    try:
        yield served
    finally:
        await served.stop()


@pytest.fixture
def rows(target: Settings) -> Iterator[Any]:
    def read() -> list[LoggedQuery]:
        with SqliteQueryLog(target.querylog_path) as log:
            return log.recent(None, limit=100)

    yield read


def custom_ids(message: JSON) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


def button(message: JSON, label: str) -> JSON:
    return next(c for row in message["components"] for c in row["components"] if c.get("label") == label)


def fields(embed: JSON) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


async def ask(fake: FakeDiscord, question: str) -> JSON:
    return await (await fake.send_interaction("ask", {"question": question})).reply()


async def test_a_moderator_pages_recent_questions_and_reads_stats(
    fake: FakeDiscord, bot: Served, rows: Any
) -> None:
    await ask(fake, "who was sanctioned?")
    await ask(fake, "quantum chromodynamics lattice")
    elsewhere = fake.guilds[1].channel("general")
    asked = await fake.send_message(f"{fake.bot_user.mention} solar farm elsewhere?", channel=elsewhere)
    await asked.reply()
    assert {r.record.guild_id for r in rows()} == {fake.guild.id, fake.guilds[1].id}
    mine = [r.id for r in rows() if r.record.guild_id == fake.guild.id]

    recent = await fake.send_interaction("logs recent", {"limit": 1}, user=fake.mod)
    assert (await recent.wait_callback()) == {"type": 5, "data": {"flags": EPHEMERAL}}
    first = await recent.reply()
    assert first["flags"] & EPHEMERAL
    assert f"`#{mine[0]}`" in first["embeds"][0]["description"]
    assert "elsewhere" not in str(first["embeds"])
    assert button(first, "Previous")["disabled"] and not button(first, "Next")["disabled"]

    turned = await fake.send_component(button(first, "Next")["custom_id"], message=first, user=fake.mod)
    second = await turned.reply()
    assert turned.callback == {"type": 6}  # acknowledged, then the same message edited
    assert second["id"] == first["id"]
    assert f"`#{mine[1]}`" in second["embeds"][0]["description"]
    assert button(second, "Next")["disabled"]  # two questions in this guild: the last page

    stats = await fake.send_interaction("logs stats", {"days": 0}, user=fake.mod)
    reply = await stats.reply()
    assert reply["flags"] & EPHEMERAL
    values = fields(reply["embeds"][0])
    assert values["Questions"] == "2"
    assert values["Answered"] == "1 (50%)" and values["No match"] == "1 (50%)"


async def test_a_plain_member_is_refused(fake: FakeDiscord, bot: Served) -> None:
    with pytest.raises(PermissionError):  # Discord hides /logs from members...
        await fake.send_interaction("logs recent", user=fake.member)
    logs = next(c for c in fake.commands[fake.guild.id] if c["name"] == "logs")
    assert int(logs["default_member_permissions"]) == 1 << 13  # Manage Messages
    # ...and if a server admin unhides it, the bot's own check still refuses.
    logs["default_member_permissions"] = None
    refused = await fake.send_interaction("logs stats", user=fake.member)
    body = await refused.wait_callback()
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert "Manage Messages" in body["data"]["content"]


async def test_votes_are_stored_and_the_buttons_survive_a_restart(
    fake: FakeDiscord, bot: Served, rows: Any
) -> None:
    answer = await ask(fake, "who was sanctioned?")
    [row] = rows()
    assert custom_ids(answer) == [f"newsbot:vote:up:{row.id}", f"newsbot:vote:down:{row.id}"]

    up = await fake.send_component(f"newsbot:vote:up:{row.id}", user=fake.admin)
    thanks = await up.reply()
    assert thanks["flags"] & EPHEMERAL and "👍 1 · 👎 0" in thanks["content"]
    assert rows()[0].votes.up == 1

    down = await fake.send_component(f"newsbot:vote:down:{row.id}", user=fake.owner)
    assert "A moderator will take a look." in (await down.reply())["content"]
    mod_log = str(fake.guild.channel("mod-log").id)
    review = await fake.until(
        lambda: next((m for m in fake.messages.values() if m["channel_id"] == mod_log), None),
        5,
        "a post in #mod-log",
    )
    assert review["embeds"][0]["title"] == "Review: 👎 from a reader"
    assert f"Row #{row.id}" in review["embeds"][0]["footer"]["text"]
    [post] = fake.find_requests("POST", rf"/channels/{mod_log}/messages")
    assert post.json["allowed_mentions"] == {"parse": []}

    await bot.stop()
    await bot.start()  # a new bot instance, the same query log file
    again = await fake.send_component(f"newsbot:vote:up:{row.id}", message=answer, user=fake.mod)
    assert "👍 2 · 👎 1" in (await again.reply())["content"]
    assert rows()[0].votes.up == 2


async def test_a_no_match_answer_is_posted_for_review(fake: FakeDiscord, bot: Served, rows: Any) -> None:
    await ask(fake, "quantum chromodynamics lattice @everyone")
    [row] = rows()
    mod_log = str(fake.guild.channel("mod-log").id)
    review = await fake.until(
        lambda: next((m for m in fake.messages.values() if m["channel_id"] == mod_log), None),
        5,
        "a post in #mod-log",
    )
    [embed] = review["embeds"]
    assert embed["title"] == "Review: no match" and f"Row #{row.id}" in embed["footer"]["text"]
    assert "@everyone" not in json.dumps(embed, ensure_ascii=False)
    assert not review["mention_everyone"] and not review["mentions"]


async def forget_member(fake: FakeDiscord) -> str:
    """/logs forget the plain member, confirmed; the final reply."""
    opened = await fake.send_interaction("logs forget", {"user": fake.member}, user=fake.mod)
    asking = await opened.reply()
    await fake.send_component(
        button(asking, "Delete their questions")["custom_id"], message=asking, user=fake.mod
    )

    def done() -> str | None:
        content = (opened.original or {}).get("content") or ""
        return content if content.startswith("Deleted") else None

    return await fake.until(done, 10, "the deletion")


def db_bytes(settings: Settings) -> bytes:
    """The query log's database file, its write-ahead log and shared memory, as on disk."""
    base = str(settings.querylog_path)
    return b"".join(
        Path(base + end).read_bytes() for end in ("", "-wal", "-shm") if Path(base + end).exists()
    )


async def test_forget_leaves_no_copy_of_the_question_on_disk(
    fake: FakeDiscord, bot: Served, target: Settings
) -> None:
    secret = b"zanzibar marmalade sanctioned"
    for _ in range(5):
        await ask(fake, f"who was {secret.decode()}?")
    assert secret in db_bytes(target)
    assert (await forget_member(fake)).startswith("Deleted 5 logged questions")
    assert secret not in db_bytes(target)


async def test_the_csv_export_never_hands_a_spreadsheet_a_formula(fake: FakeDiscord, bot: Served) -> None:
    await ask(fake, '=HYPERLINK("https://evil.example","solar farm")')
    await ask(fake, "@SUM(1+1) solar farm")
    export = await (await fake.send_interaction("logs export", user=fake.mod)).reply()
    [attachment] = export["attachments"]
    data = fake.files[int(attachment["id"])].decode()
    questions = [r["question"] for r in csv.DictReader(io.StringIO(data))]
    assert questions == ['\'=HYPERLINK("https://evil.example","solar farm")', "'@SUM(1+1) solar farm"]


async def test_a_big_export_stops_at_the_limit_and_exports_have_a_cooldown(
    fake: FakeDiscord, bot: Served, target: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SqliteQueryLog(target.querylog_path) as log:
        for n in range(3000):
            log.record(
                QueryRecord(
                    question=f"question {n} " + "x" * 200,
                    outcome="answered",
                    interface="slash",
                    guild_id=fake.guild.id,
                )
            )
    read: list[int] = []
    pages = SqliteQueryLog.export_pages

    def counted(self: SqliteQueryLog, *args: Any, **kwargs: Any) -> Iterator[list[LoggedQuery]]:
        for page in pages(self, *args, **kwargs):
            read.append(len(page))
            yield page

    monkeypatch.setattr(SqliteQueryLog, "export_pages", counted)
    fake.attachment_size_limit = 100_000
    refused = await (await fake.send_interaction("logs export", user=fake.mod)).reply()
    assert "passed Discord's" in refused["content"] and not refused.get("attachments")
    assert sum(read) < 3000  # stopped reading once over the limit
    again = await (await fake.send_interaction("logs export", user=fake.mod)).reply()
    assert "Slow down" in again["content"]
