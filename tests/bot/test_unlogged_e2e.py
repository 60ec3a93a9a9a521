"""`newsbot run` on the fake Discord while its query log cannot be written (read-only): questions
are still answered, the mod channel is told once, `/logs stats` counts what waits, and every row
lands once it can be written again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

import newsbot.querylog
from newsbot.bot.cogs import unlogged
from newsbot.settings import Settings
from tests.querylog.test_buffer import FillingDisk

from .fakediscord import FakeDiscord
from .fakediscord.payloads import JSON
from .test_e2e import served, serving


async def test_an_unwritable_log_is_retried_told_once_and_counted(
    fake_discord: FakeDiscord, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_discord
    disk = FillingDisk(tmp_path / "querylog.sqlite3")
    monkeypatch.setattr(newsbot.querylog, "open_query_log", lambda _settings: disk.store)
    monkeypatch.setattr(unlogged, "RETRY_SECONDS", 0.1)
    mod_log = fake.guild.channel("mod-log")
    home = fake.guild.id
    bot_settings = serving(fake, settings, dev_guild_id=home, home_guild_id=home, mod_channel_id=mod_log.id)

    def notices() -> list[JSON]:
        return [
            m
            for m in fake.messages.values()
            if m["channel_id"] == str(mod_log.id) and "query log cannot be written" in m["content"]
        ]

    async with served(fake, bot_settings, home):
        disk.remount_read_only()
        for _ in range(3):
            asked = await fake.send_interaction("ask", {"question": "who was sanctioned?"})
            reply = await asked.reply()
            assert "Kadyrov" in reply["embeds"][0]["description"]  # answered all the same
        await fake.until(lambda: notices() or None, 5, "the notice in the mod channel")

        stats = await (await fake.send_interaction("logs stats", user=fake.mod)).reply()
        fields = {f["name"]: f["value"] for f in stats["embeds"][0]["fields"]}
        assert fields["Not logged"] == "0 dropped · 3 waiting to be written"

        disk.free()
        deadline = time.monotonic() + 5
        while len(disk.store.recent(None)) < 3:
            assert time.monotonic() < deadline, "the waiting rows were never written"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a few more retry rounds: nothing is written twice, no new notice
        assert len(disk.store.recent(None)) == 3
        assert len(notices()) == 1
        stats = await (await fake.send_interaction("logs stats", user=fake.mod)).reply()
        assert "Not logged" not in {f["name"] for f in stats["embeds"][0]["fields"]}
