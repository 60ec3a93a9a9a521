"""End to end: `runner.serve` (what `newsbot run` runs) against the fake Discord over HTTP and
a websocket, with a real engine over a tmp corpus and a real query log.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from newsbot.bot import runner
from newsbot.engine import Engine
from newsbot.querylog import SqliteQueryLog
from newsbot.settings import Settings

from .fakediscord import FakeDiscord, Upload

HOSTILE = {"id": "hostile-1", "title": "**Pwned** @everyone",
           "text": "@everyone @here **Lighthouse keepers** went on strike at the old "
                   "lighthouse, said <@&123456789012345678> [the union](https://evil.example).",
           "date": "2024-02-02", "source": "Prank Wire"}


@pytest.fixture
async def live(fake_discord: FakeDiscord, settings: Settings) -> AsyncIterator[FakeDiscord]:
    """The bot served by `runner.serve` until the test ends, logged in, synced and ready."""
    (settings.corpus_dir / "hostile.jsonl").write_text(json.dumps(HOSTILE) + "\n")
    fake = fake_discord
    target = dataclasses.replace(settings, discord_token=fake.token, cooldown_seconds=0,
                                 discord_api_base=fake.api_base,
                                 discord_gateway_url=fake.gateway_url, dev_guild_id=fake.guild.id)
    served = asyncio.create_task(runner.serve(target))
    try:
        await fake.until(lambda: _ready(fake, served), 20, "the bot to be ready")
        yield fake
    finally:
        served.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await served


def _ready(fake: FakeDiscord, served: asyncio.Task[None]) -> bool | None:
    if served.done():
        served.result()  # raise what stopped it
    guild_create = fake.gateway.session is not None and any(
        f["t"] == "GUILD_CREATE" for f in fake.gateway.session.sent)
    return True if guild_create and fake.commands.get(fake.guild.id) else None


def log_rows(settings: Settings) -> list[Any]:
    with SqliteQueryLog(settings.querylog_path) as log:
        return log.recent(None, limit=100)


async def test_logs_in_without_privileged_intents_and_syncs_to_the_dev_guild(
        live: FakeDiscord) -> None:
    [connection] = live.gateway.connections
    assert connection.identify is not None
    intents = int(connection.identify["intents"])
    assert not intents & ((1 << 1) | (1 << 8) | (1 << 15))  # members, presences, content
    names = {c["name"]: c for c in live.commands[live.guild.id]}
    assert {"ask", "reindex", "corpus"} <= set(names)
    assert int(names["reindex"]["default_member_permissions"]) == 32  # Manage Server
    assert all(o.get("description") for o in names["ask"]["options"])


async def test_ask_who_was_sanctioned_quotes_the_kadyrov_passage(live: FakeDiscord,
                                                                 settings: Settings) -> None:
    handle = await live.send_interaction("ask", {"question": "who was sanctioned?"})
    reply = await handle.reply()
    [embed] = reply["embeds"]
    assert "Ramzan Kadyrov" in embed["description"] and "**sanctions**" in embed["description"]
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
        f"{live.bot_user.mention} **lighthouse keepers** strike @everyone <@&{live.guild.id}>")
    reply = await asked.reply()
    text = json.dumps([reply["content"], reply["embeds"]], ensure_ascii=False)
    assert "Lighthouse" in text
    assert "@everyone" not in text and "@here" not in text
    assert not reply["mention_everyone"] and not reply["mentions"] and not reply["mention_roles"]
    sent = live.find_requests("POST", r"/channels/\d+/messages")
    assert sent and all(r.json["allowed_mentions"]["parse"] == [] for r in sent)


@pytest.mark.parametrize("question", ["", "x" * 10_000])
async def test_empty_and_huge_questions_are_refused_privately(live: FakeDiscord,
                                                              settings: Settings,
                                                              question: str) -> None:
    handle = await live.send_interaction("ask", {"question": question})
    body = await handle.wait_callback()
    assert body["type"] == 4 and body["data"]["flags"] & 64
    assert len(body["data"]["content"]) <= 2000
    assert log_rows(settings)[0].record.outcome == "refused"


class HeldReindex:
    """Holds every reindex inside the engine until released, so overlaps are certain."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        real = Engine._removed_ids

        def held(engine: Engine) -> set[str]:
            self.started.set()
            self.release.wait(10)
            return real(engine)

        monkeypatch.setattr(Engine, "_removed_ids", held)

    async def running(self) -> None:
        assert await asyncio.to_thread(self.started.wait, 10)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldReindex]:
    hold = HeldReindex(monkeypatch)
    yield hold
    hold.release.set()


async def test_questions_are_answered_while_a_reindex_runs(live: FakeDiscord,
                                                           held: HeldReindex) -> None:
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
    article = {"id": "tide-9", "title": "Tidal barrage approved",
               "text": "Councillors approved a tidal barrage across the estuary on Friday."}
    added = await live.send_interaction(
        "corpus add", {"file": Upload("tide.jsonl", json.dumps(article).encode())},
        user=live.admin)
    reply = await added.reply(timeout=20)
    assert reply["content"] == "Added “Tidal barrage approved”." and reply["flags"] & 64
    answer = await (await live.send_interaction("ask", {"question": "tidal barrage"})).reply()
    assert "barrage" in answer["embeds"][0]["description"]


async def test_source_autocomplete(live: FakeDiscord) -> None:
    handle = await live.send_autocomplete("ask", {"question": "rail", "source": "Coast"},
                                          focused="source")
    assert [c["value"] for c in await handle.choices()] == ["Coast Herald"]
