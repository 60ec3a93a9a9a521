"""End to end: `runner.serve` (what `newsbot run` runs) against the fake Discord over HTTP and
a websocket, with a real engine over a tmp corpus and a real query log.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import re
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from newsbot.bot import runner
from newsbot.bot.cogs import admin as admin_module
from newsbot.corpus import edits
from newsbot.index.store import Index
from newsbot.querylog import SqliteQueryLog
from newsbot.querylog.records import percentile
from newsbot.settings import Settings

from .fakediscord import FakeDiscord, Upload
from .support import pings

HOSTILE = {
    "id": "hostile-1",
    "title": "**Pwned** @everyone",
    "text": "@everyone @here **Lighthouse keepers** went on strike at the old "
    "lighthouse, said <@&123456789012345678> [the union](https://evil.example).",
    "date": "2024-02-02",
    "source": "Prank Wire",
}


def serving(fake: FakeDiscord, settings: Settings, **changes: Any) -> Settings:
    """`settings` pointed at the fake, with no cooldown between questions."""
    return dataclasses.replace(
        settings,
        discord_token=fake.token,
        cooldown_seconds=0,
        discord_api_base=fake.api_base,
        discord_gateway_url=fake.gateway_url,
        **changes,
    )


@contextlib.asynccontextmanager
async def served(fake: FakeDiscord, settings: Settings, synced_to: int | None) -> AsyncIterator[None]:
    """`runner.serve` (what `newsbot run` runs) until the block ends, once it is logged in,
    has its guild and has synced its commands (`synced_to`: a guild id, None for global)."""
    task = asyncio.create_task(runner.serve(settings))

    def ready() -> bool | None:
        if task.done():
            task.result()  # raise what stopped it
        session = fake.gateway.session
        guild_create = session is not None and any(f["t"] == "GUILD_CREATE" for f in session.sent)
        return True if guild_create and fake.commands.get(synced_to) else None

    try:
        await fake.until(ready, 20, "the bot to be ready")
        yield
    finally:
        task.cancel()
        await stopped(task)


async def stopped(task: asyncio.Task[Any], timeout: float = 60.0) -> None:
    """Wait for the cancelled bot to stop; one that does not fails the test with the stacks of
    what it still runs (a hung shutdown must not hang the suite)."""
    await asyncio.wait({task}, timeout=timeout)
    if not task.done():
        stacks = io.StringIO()
        for other in asyncio.all_tasks():
            if other is not asyncio.current_task():
                other.print_stack(file=stacks)
        for thread_id, frame in sys._current_frames().items():
            stacks.write(f"thread {thread_id}:\n{''.join(traceback.format_stack(frame))}")
        raise AssertionError(f"the bot did not stop within {timeout:g} s:\n{stacks.getvalue()}")
    with contextlib.suppress(asyncio.CancelledError):
        task.result()  # raise what stopped it otherwise


@pytest.fixture
async def live(fake_discord: FakeDiscord, settings: Settings) -> AsyncIterator[FakeDiscord]:
    """The bot served until the test ends, synced to the fake's guild as the dev guild. After
    the test, nothing the bot sent may have pinged anyone."""
    (settings.corpus_dir / "hostile.jsonl").write_text(json.dumps(HOSTILE) + "\n")
    fake = fake_discord
    home = fake.guild.id
    async with served(fake, serving(fake, settings, dev_guild_id=home, home_guild_id=home), home):
        yield fake
    assert pings(fake) == []


def log_rows(settings: Settings) -> list[Any]:
    with SqliteQueryLog(settings.querylog_path) as log:
        return log.recent(None, limit=100)


async def test_logs_in_without_privileged_intents_and_syncs_to_the_dev_guild(live: FakeDiscord) -> None:
    [connection] = live.gateway.connections
    assert connection.identify is not None
    intents = int(connection.identify["intents"])
    assert not intents & ((1 << 1) | (1 << 8) | (1 << 15))  # members, presences, content
    names = {c["name"]: c for c in live.commands[live.guild.id]}
    assert {"ask", "reindex", "corpus"} <= set(names)
    assert int(names["reindex"]["default_member_permissions"]) == 32  # Manage Server
    assert all(o.get("description") for o in names["ask"]["options"])


async def test_ask_who_was_sanctioned_quotes_the_kadyrov_passage(
    live: FakeDiscord, settings: Settings
) -> None:
    handle = await live.send_interaction("ask", {"question": "who was sanctioned?"})
    reply = await handle.reply()
    [embed] = reply["embeds"]
    assert "Kadyrov" in embed["description"] and "Magnitsky Act" in embed["description"]
    assert "**sanction**" in embed["description"]
    [edit] = live.find_requests("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")
    assert edit.json["allowed_mentions"] == {"parse": []}
    [row] = log_rows(settings)
    assert (row.record.outcome, row.record.interface) == ("answered", "slash")
    assert row.record.user_id == live.member.id


async def test_members_are_refused_reindex_admins_can_run_it(live: FakeDiscord) -> None:
    with pytest.raises(PermissionError):  # Discord hides it from members...
        await live.send_interaction("reindex", user=live.member)
    # ...and if a server admin unhides it in the server settings, the bot still refuses.
    reindex = next(c for c in live.commands[live.guild.id] if c["name"] == "reindex")
    reindex["default_member_permissions"] = None
    refused = await live.send_interaction("reindex", user=live.member)
    body = await refused.wait_callback()
    assert body["type"] == 4 and body["data"]["flags"] & 64
    assert "Manage Server" in body["data"]["content"]

    done = await live.send_interaction("reindex", {"full": True}, user=live.admin)
    assert (await done.wait_callback()) == {"type": 5, "data": {"flags": 64}}
    report = await done.reply(timeout=20)
    assert report["embeds"][0]["title"] == "Reindex finished"
    assert report["flags"] & 64


async def test_a_mention_is_answered_with_a_reply(live: FakeDiscord, settings: Settings) -> None:
    asked = await live.send_message(f"{live.bot_user.mention} who was sanctioned?")
    reply = await asked.reply()
    assert reply["message_reference"]["message_id"] == str(asked.id)
    assert "Kadyrov" in reply["embeds"][0]["description"]
    [row] = log_rows(settings)
    assert row.record.interface == "mention"


async def test_hostile_questions_and_articles_ping_nobody(live: FakeDiscord) -> None:
    asked = await live.send_message(
        f"{live.bot_user.mention} **lighthouse keepers** strike @everyone <@&{live.guild.id}>"
    )
    reply = await asked.reply()
    text = json.dumps([reply["content"], reply["embeds"]], ensure_ascii=False)
    assert "Lighthouse" in text
    assert "@everyone" not in text and "@here" not in text
    assert not reply["mention_everyone"] and not reply["mentions"] and not reply["mention_roles"]
    sent = live.find_requests("POST", r"/channels/\d+/messages")
    assert sent and all(r.json["allowed_mentions"]["parse"] == [] for r in sent)


@pytest.mark.parametrize("question", ["", "x" * 10_000])
async def test_empty_and_huge_questions_are_refused_privately(
    live: FakeDiscord, settings: Settings, question: str
) -> None:
    handle = await live.send_interaction("ask", {"question": question})
    body = await handle.wait_callback()
    assert body["type"] == 4 and body["data"]["flags"] & 64
    assert len(body["data"]["content"]) <= 2000
    assert log_rows(settings)[0].record.outcome == "refused"


async def test_an_empty_mention_is_told_to_ask_in_words(live: FakeDiscord, settings: Settings) -> None:
    asked = await live.send_message(f"{live.bot_user.mention}  ")
    reply = await asked.reply()
    assert "question in words" in reply["content"] and not reply["embeds"]
    assert reply["message_reference"]["message_id"] == str(asked.id)
    assert log_rows(settings)[0].record.outcome == "refused"


class HeldReindex:
    """Holds every reindex at `owner.name` (inside the engine) until released, so overlaps are
    certain. The default, before any progress is reported, keeps the reply unedited."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, owner: object = edits, name: str = "removed_ids"
    ) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        real = getattr(owner, name)

        def held(*args: Any, **kwargs: Any) -> Any:
            self.started.set()
            self.release.wait(10)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, held)

    async def running(self) -> None:
        assert await asyncio.to_thread(self.started.wait, 10)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldReindex]:
    hold = HeldReindex(monkeypatch)
    yield hold
    hold.release.set()


async def report_of(fake: FakeDiscord, handle: Any) -> dict[str, Any]:
    """The reindex reply once it holds the final report (progress edits come before)."""
    return await fake.until(
        lambda: handle.original if handle.original and handle.original["embeds"] else None,
        20,
        "the reindex report",
    )


async def test_questions_are_answered_while_a_reindex_runs(live: FakeDiscord, held: HeldReindex) -> None:
    reindex = await live.send_interaction("reindex", {"full": True}, user=live.admin)
    await held.running()
    for _ in range(5):
        handle = await live.send_interaction("ask", {"question": "who was sanctioned?"})
        assert "Kadyrov" in (await handle.reply())["embeds"][0]["description"]
    assert reindex.original is None or not reindex.original["embeds"]  # still running
    held.release.set()
    assert (await reindex.reply(timeout=20))["embeds"][0]["title"] == "Reindex finished"


async def test_a_second_reindex_is_told_to_wait(live: FakeDiscord, held: HeldReindex) -> None:
    first = await live.send_interaction("reindex", {"full": True}, user=live.admin)
    await held.running()
    second = await live.send_interaction("reindex", user=live.admin)
    busy = await second.reply()
    assert "already running" in busy["content"] and busy["flags"] & 64
    held.release.set()
    assert (await first.reply(timeout=20))["embeds"][0]["title"] == "Reindex finished"


async def test_corpus_add_then_ask(live: FakeDiscord) -> None:
    article = {
        "id": "tide-9",
        "title": "Tidal barrage approved",
        "text": "Councillors approved a tidal barrage across the estuary on Friday.",
    }
    added = await live.send_interaction(
        "corpus add", {"file": Upload("tide.jsonl", json.dumps(article).encode())}, user=live.admin
    )
    reply = await added.reply(timeout=20)
    assert reply["content"] == "Added “Tidal barrage approved”." and reply["flags"] & 64
    answer = await (await live.send_interaction("ask", {"question": "tidal barrage"})).reply()
    assert "barrage" in answer["embeds"][0]["description"]


async def test_source_autocomplete(live: FakeDiscord) -> None:
    handle = await live.send_autocomplete("ask", {"question": "rail", "source": "Coast"}, focused="source")
    assert [c["value"] for c in await handle.choices()] == ["Coast Herald"]


async def test_reindex_shows_progress_by_editing_its_reply(
    live: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_module, "PROGRESS_EVERY", 0.05)
    hold = HeldReindex(monkeypatch, Index, "save")  # after the "saving" progress report
    try:
        reindex = await live.send_interaction("reindex", {"full": True}, user=live.admin)
        await hold.running()
        await live.until(  # the edits come at most every PROGRESS_EVERY: the last may lag
            lambda: (reindex.original or {}).get("content", "").startswith("Reindexing… saving") or None,
            5,
            "the saving step in the reply",
        )
    finally:
        hold.release.set()
    report = await report_of(live, reindex)
    assert report["embeds"][0]["title"] == "Reindex finished" and not report["content"]
    assert report["flags"] & 64


async def test_a_failed_reindex_keeps_the_old_index_and_says_why(
    live: FakeDiscord, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    def full_disk(*_: Any, **__: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Index, "save", full_disk)
    reindex = await live.send_interaction("reindex", {"full": True}, user=live.admin)
    failed = await reindex.reply()
    assert failed["flags"] & 64 and not failed["embeds"]
    assert "The reindex failed" in failed["content"]
    assert "No space left on device" in failed["content"] and "error id `" in failed["content"]
    match = re.search(r"index in use \(`([^`]+)`\)", failed["content"])
    assert match is not None
    answer = await (await live.send_interaction("ask", {"question": "who was sanctioned?"})).reply()
    [embed] = answer["embeds"]
    assert "Kadyrov" in embed["description"]
    assert log_rows(settings)[0].record.index_version == match[1]  # the version shows in /logs only
    assert match[1] not in embed["footer"]["text"]


async def test_markdown_and_mentions_in_a_slash_question_are_shown_literally(live: FakeDiscord) -> None:
    question = (
        f"**lighthouse keepers** strike? @everyone {live.member.mention} "
        f"{live.guild.role('Admin').mention} [x](https://evil.example)"
    )
    reply = await (await live.send_interaction("ask", {"question": question})).reply()
    [embed] = reply["embeds"]
    assert embed["title"].startswith("\\*\\*lighthouse keepers\\*\\* strike? @\u200beveryone \\<@")
    assert r"\[x\](https://evil.example)" in embed["title"]
    # The article's own markdown and mentions are escaped too.
    assert "\\*\\*Pwned\\*\\* @\u200beveryone" in embed["description"]
    assert r"\<@&123456789012345678\>" in embed["description"]
    assert not reply["mention_everyone"] and not reply["mentions"] and not reply["mention_roles"]


async def test_without_a_dev_guild_commands_sync_globally(
    fake_discord: FakeDiscord, settings: Settings
) -> None:
    async with served(fake_discord, serving(fake_discord, settings), None):
        names = {c["name"] for c in fake_discord.commands[None]}
    assert {"ask", "corpus", "logs"} <= names
    assert "reindex" not in names  # the operator's: only with a home server, and only there
    assert fake_discord.guild.id not in fake_discord.commands


ASKS = 50


async def test_ask_latency_end_to_end(live: FakeDiscord) -> None:
    """From the user's INTERACTION_CREATE to the answer filled in, through discord.py, the
    fake's HTTP and websocket, the engine and the query log. The issue asks for p95 < 300 ms;
    the bound here is generous so a busy CI machine does not fail it."""
    took: list[float] = []
    for _ in range(ASKS):
        await live.settle()
        start = time.perf_counter()
        handle = await live.send_interaction("ask", {"question": "who was sanctioned?"})
        reply = await handle.reply()
        took.append(time.perf_counter() - start)
        assert "Kadyrov" in reply["embeds"][0]["description"]
    took.sort()
    p50, p95 = percentile(took, 50), percentile(took, 95)
    assert p50 is not None and p95 is not None
    print(
        f"\n/ask end to end, {ASKS} asks: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {took[-1] * 1000:.0f} ms"
    )
    assert p95 < 1.5


async def test_the_running_bot_answers_from_what_a_cli_rebuild_indexed(
    live: FakeDiscord, settings: Settings
) -> None:
    (settings.corpus_dir / "wombat.txt").write_text(
        "Wombat cubes puzzle zoologists\n\nZoologists explained why wombats leave cube-shaped droppings.\n"
    )
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "newsbot", "index",
        "--corpus", str(settings.corpus_dir), "--data-dir", str(settings.data_dir),
    )  # fmt: skip
    assert await cli.wait() == 0
    deadline = time.monotonic() + 2.0  # the bot follows a new version within a second or two
    while True:
        reply = await (
            await live.send_interaction("ask", {"question": "why are wombat droppings cubes?"})
        ).reply()
        if "Wombat" in json.dumps(reply["embeds"]) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert "Wombat cubes puzzle zoologists" in json.dumps(reply["embeds"])
