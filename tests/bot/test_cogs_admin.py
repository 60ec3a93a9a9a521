"""The Admin cog with spec'd mock interactions over a real engine and a tmp corpus."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from newsbot.bot.checks import is_admin, is_operator
from newsbot.bot.client import NewsBot
from newsbot.bot.cogs import admin as admin_module
from newsbot.bot.cogs.admin import Admin
from newsbot.bot.errors import DisclosedError
from newsbot.corpus import edits
from newsbot.errors import BadUpload, IndexBusy, NotFound
from newsbot.index.store import Index
from newsbot.settings import Settings
from tests.bot.support import interaction, open_bot, sent_kwargs

NEW_ARTICLE = {
    "id": "tide-9",
    "title": "Tidal barrage approved for the estuary",
    "text": "Councillors approved a tidal barrage across the estuary on Friday.",
    "date": "2024-06-01",
    "source": "Coast Herald",
}


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[NewsBot]:
    bot = open_bot(dataclasses.replace(settings, home_guild_id=99))  # the mock interactions' guild
    yield bot
    bot.querylog.close()


@pytest.fixture
def cog(bot: NewsBot) -> Admin:
    return Admin(bot)


def attachment(data: bytes, filename: str = "new.jsonl", size: int | None = None) -> MagicMock:
    file = MagicMock(spec=discord.Attachment)
    file.filename, file.size = filename, len(data) if size is None else size
    file.read = AsyncMock(return_value=data)
    return file


def last_edit(inter: MagicMock) -> dict[str, Any]:
    return dict(inter.edit_original_response.await_args.kwargs)


def test_every_admin_command_is_hidden_and_checked(cog: Admin) -> None:
    admin = is_admin()(lambda: None).__discord_app_commands_checks__[0]  # type: ignore[attr-defined]
    operator = is_operator()(lambda: None).__discord_app_commands_checks__[0]  # type: ignore[attr-defined]
    commands = {
        c.qualified_name: c for c in cog.walk_app_commands() if isinstance(c, discord.app_commands.Command)
    }
    assert set(commands) == {"reindex", "corpus stats", "corpus add", "corpus remove"}
    for name, command in commands.items():
        root = command.root_parent or command
        assert root.default_permissions == discord.Permissions(manage_guild=True), name
        assert root.guild_only, name
        marker = operator if name == "reindex" else admin
        assert [c.__qualname__ for c in command.checks] == [marker.__qualname__], name
        assert command.description and all(p.description != "…" for p in command.parameters)


async def test_reindex_defers_privately_and_ends_with_a_report(cog: Admin) -> None:
    inter = interaction(manage_guild=True)
    await cog.reindex.callback(cog, inter, full=True)  # type: ignore[arg-type]
    assert sent_kwargs(inter.response.defer) == {"ephemeral": True, "thinking": True}
    embed = last_edit(inter)["embed"]
    assert embed.title == "Reindex finished"
    assert {f.name: f.value for f in embed.fields}["Articles"] == "4"


async def test_reindex_progress_is_shown_and_throttled(
    cog: Admin, bot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bot.engine.reindex

    def slow(*, full: bool = False, progress: Any = None) -> Any:
        for n in range(30):
            progress("reading", n, 30)
            time.sleep(0.01)
        return real(full=full)

    monkeypatch.setattr(bot.engine, "reindex", slow)
    monkeypatch.setattr(admin_module, "PROGRESS_EVERY", 0.1)
    inter = interaction(manage_guild=True)
    await cog.reindex.callback(cog, inter)  # type: ignore[arg-type]
    edits = [c.kwargs for c in inter.edit_original_response.await_args_list]
    progress = [e["content"] for e in edits[:-1]]
    assert progress and all(p.startswith("Reindexing… reading") for p in progress)
    assert len(progress) < 10  # about one per 0.1 s of a 0.3 s job, not one per call
    assert edits[-1]["embed"].title == "Reindex finished"


async def test_a_failing_progress_edit_does_not_stop_the_reindex(
    cog: Admin, bot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bot.engine.reindex

    def slow(*, full: bool = False, progress: Any = None) -> Any:
        progress("reading", 1, 2)
        time.sleep(0.2)
        return real(full=full)

    monkeypatch.setattr(bot.engine, "reindex", slow)
    monkeypatch.setattr(admin_module, "PROGRESS_EVERY", 0.05)
    inter = interaction(manage_guild=True)
    response = type("R", (), {"status": 429, "reason": "Too Many Requests"})()
    calls = []

    async def edit(**kwargs: Any) -> None:
        calls.append(kwargs)
        if "embed" not in kwargs:
            raise discord.HTTPException(response, "rate limited")

    inter.edit_original_response.side_effect = edit
    await cog.reindex.callback(cog, inter)  # type: ignore[arg-type]
    assert calls[-1]["embed"].title == "Reindex finished"


async def test_two_reindexes_never_run_at_once(
    cog: Admin, bot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = bot.engine.reindex
    monkeypatch.setattr(edits, "removed_ids", lambda folder: (release.wait(5), set())[1])
    holder = threading.Thread(target=real)
    holder.start()
    try:
        while not bot.engine.reindexing:
            time.sleep(0.01)
        with pytest.raises(IndexBusy):
            await cog.reindex.callback(cog, interaction(manage_guild=True))  # type: ignore[arg-type]
    finally:
        release.set()
        holder.join()


async def test_corpus_stats(cog: Admin) -> None:
    inter = interaction(manage_guild=True)
    await cog.stats.callback(cog, inter)  # type: ignore[arg-type]
    assert sent_kwargs(inter.response.defer)["ephemeral"] is True
    fields = {f.name: f.value for f in last_edit(inter)["embed"].fields}
    assert fields["Articles"] == "4"


async def test_corpus_add_refuses_a_big_file_before_downloading(cog: Admin, bot: NewsBot) -> None:
    file = attachment(b"x", size=bot.settings.max_upload_bytes + 1)
    inter = interaction(manage_guild=True)
    with pytest.raises(BadUpload, match="limit"):
        await cog.add.callback(cog, inter, file)  # type: ignore[arg-type]
    file.read.assert_not_awaited()
    inter.response.defer.assert_not_awaited()


async def test_corpus_add_saves_validates_and_reindexes(cog: Admin, bot: NewsBot) -> None:
    inter = interaction(manage_guild=True)
    await cog.add.callback(cog, inter, attachment(json.dumps(NEW_ARTICLE).encode()))  # type: ignore[arg-type]
    edit = last_edit(inter)
    assert edit["content"] == "Added “Tidal barrage approved for the estuary”."
    assert {f.name: f.value for f in edit["embed"].fields}["Added"] == "1"
    assert "barrage" in (bot.engine.ask("tidal barrage estuary").hits[0].snippet.text)


async def test_corpus_add_rejects_an_unreadable_file(cog: Admin) -> None:
    with pytest.raises(BadUpload):
        await cog.add.callback(
            cog,
            interaction(manage_guild=True),  # type: ignore[arg-type]
            attachment(b"\x00\x01", filename="evil.exe"),
        )


async def test_corpus_add_during_a_reindex_saves_and_says_so(
    cog: Admin, bot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.engine, "reindex", MagicMock(side_effect=IndexBusy("busy")))
    inter = interaction(manage_guild=True)
    await cog.add.callback(cog, inter, attachment(json.dumps(NEW_ARTICLE).encode()))  # type: ignore[arg-type]
    assert "already running" in last_edit(inter)["content"]
    assert any(p.name.startswith("new") for p in (bot.settings.corpus_dir / "uploads").iterdir())


async def test_corpus_remove_then_reindex(cog: Admin, bot: NewsBot) -> None:
    inter = interaction(manage_guild=True)
    await cog.remove.callback(cog, inter, " rail-2 ")  # type: ignore[arg-type]
    edit = last_edit(inter)
    assert edit["content"] == (
        "Removed “Rail strike halts northern trains” "
        "(its id is excluded from the index; no file was deleted)."
    )
    assert {f.name: f.value for f in edit["embed"].fields}["Articles"] == "3"


async def test_corpus_remove_unknown_id(cog: Admin) -> None:
    with pytest.raises(NotFound):
        await cog.remove.callback(cog, interaction(manage_guild=True), "nope")  # type: ignore[arg-type]


def full_disk(*_: Any, **__: Any) -> None:
    raise OSError(28, "No space left on device")


async def test_a_failed_build_keeps_the_old_index_and_says_why(
    cog: Admin, bot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = bot.engine.version
    monkeypatch.setattr(Index, "save", full_disk)
    with pytest.raises(DisclosedError) as caught:
        await cog.reindex.callback(cog, interaction(manage_guild=True), full=True)  # type: ignore[arg-type]
    assert caught.value.message == (
        f"The reindex failed; the index in use (`{before}`) is unchanged and keeps answering. "
        r"Why: OSError: \[Errno 28\] No space left on device"
    )  # escaped: shown as typed
    assert isinstance(caught.value.__cause__, OSError)  # logged with its traceback
    assert bot.engine.version == before
    assert "Kadyrov" in bot.engine.ask("who was sanctioned?").hits[0].snippet.text


async def test_a_failed_build_after_an_upload_says_the_file_was_added(
    cog: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Index, "save", full_disk)
    with pytest.raises(
        DisclosedError,
        match=r"^Added “Tidal barrage approved for the estuary”\. "
        r"The reindex failed",
    ):
        await cog.add.callback(
            cog,
            interaction(manage_guild=True),  # type: ignore[arg-type]
            attachment(json.dumps(NEW_ARTICLE).encode()),
        )
