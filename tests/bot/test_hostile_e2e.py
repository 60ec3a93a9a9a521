"""Hostile input and spam through `newsbot run` on the fake Discord (issue 11: #6, #9, #11)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

from newsbot.bot.cogs.ask import DATE_CHARS, QUESTION_CHARS, SOURCE_CHARS
from newsbot.querylog import SqliteQueryLog
from newsbot.settings import Settings

from .fakediscord import FakeDiscord
from .support import pings
from .test_e2e import served, serving

INVISIBLE = {
    "id": "bidi-1",
    "title": "Lighthouse\u202e keepers\u200b strike",
    "text": "Lighthouse keepers\u2066 went on strike; the details are at "
    "https://news.example/lighthouse-keepers-strike for everyone.",
    "date": "2024-02-02",
    "source": "Coast\u200f Herald",
}


def logged(settings: Settings) -> int:
    with SqliteQueryLog(settings.querylog_path) as log:
        return len(log.recent(None, limit=1000))


def bot_messages(fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    bot = str(fake.bot_user.id)
    return [
        m for m in fake.messages.values() if m["author"]["id"] == bot and int(m["channel_id"]) == channel_id
    ]


async def test_invisible_characters_never_reach_discord_and_links_stay_whole(
    fake_discord: FakeDiscord, settings: Settings
) -> None:
    fake = fake_discord
    (settings.corpus_dir / "bidi.jsonl").write_text(json.dumps(INVISIBLE) + "\n")
    async with served(fake, serving(fake, settings, dev_guild_id=fake.guild.id), fake.guild.id):
        handle = await fake.send_interaction("ask", {"question": "lighthouse\u202e keepers\u2067 strike"})
        reply = await handle.reply()
    shown = json.dumps(reply, ensure_ascii=False)
    for char in ("\u202e", "\u2066", "\u2067", "\u200f"):
        assert char not in shown
    assert "Lighthouse keepers strike" in shown
    # The URL is sent whole: no ** marks inside it although its words match the question.
    assert "https://news.example/lighthouse-keepers-strike" in reply["embeds"][0]["description"]


async def test_a_bystander_is_answered_quickly_while_hostile_questions_run(
    fake_discord: FakeDiscord, settings: Settings
) -> None:
    fake = fake_discord
    hostile = {"question": "who was sanctioned?", "source": "[" * SOURCE_CHARS, "until": "[" * DATE_CHARS}
    async with served(fake, serving(fake, settings, dev_guild_id=fake.guild.id), fake.guild.id):
        began = time.perf_counter()
        *handles, bystander = await asyncio.gather(  # all sent at once, the bystander last
            *(fake.send_interaction("ask", hostile) for _ in range(20)),
            *(fake.send_interaction("ask", {"question": "[a](" * (QUESTION_CHARS // 4)}) for _ in range(20)),
            fake.send_interaction("ask", {"question": "who was sanctioned?"}, user=fake.admin),
        )
        reply = await bystander.reply(timeout=30)
        took = time.perf_counter() - began
        for handle in handles:
            await handle.reply(timeout=30)
    assert "Kadyrov" in reply["embeds"][0]["description"]
    assert took < 1.0, f"the bystander waited {took:.2f} s"


async def test_a_burst_of_mentions_gets_one_public_slow_down(
    fake_discord: FakeDiscord, settings: Settings
) -> None:
    fake = fake_discord
    target = dataclasses.replace(serving(fake, settings, dev_guild_id=fake.guild.id), cooldown_seconds=300)
    async with served(fake, target, fake.guild.id):
        for n in range(12):
            await fake.send_message(f"{fake.bot_user.mention} who was sanctioned? ({n})")
        for _ in range(200):  # the log is written by the bot, not seen by the fake: poll it
            if logged(target) == 12:
                break
            await asyncio.sleep(0.05)
        await fake.settle()
        assert logged(target) == 12
    replies = bot_messages(fake, fake.channel.id)
    slow = [m for m in replies if "Slow down" in (m.get("content") or "")]
    assert len(replies) == 2 and len(slow) == 1  # the answer, then one warning; the rest silent
    assert pings(fake) == []


async def test_toggling_a_thumbs_down_posts_to_the_mod_channel_once(
    fake_discord: FakeDiscord, settings: Settings
) -> None:
    fake = fake_discord
    mod_log = fake.guild.channel("mod-log")
    target = serving(fake, settings, dev_guild_id=fake.guild.id, mod_channel_id=mod_log.id)
    async with served(fake, target, fake.guild.id):
        answer = await (await fake.send_interaction("ask", {"question": "who was sanctioned?"})).reply()
        down, up = (
            next(c["custom_id"] for r in answer["components"] for c in r["components"] if k in c["custom_id"])
            for k in (":down:", ":up:")
        )
        for _ in range(5):
            await (await fake.send_component(down, message=answer, user=fake.admin)).reply()
            await (await fake.send_component(up, message=answer, user=fake.admin)).reply()
        await fake.settle()
    assert len(bot_messages(fake, mod_log.id)) == 1


async def test_refusals_quoting_what_was_typed_carry_no_invisible_characters(
    fake_discord: FakeDiscord, settings: Settings
) -> None:
    fake = fake_discord
    home = fake.guild.id
    async with served(fake, serving(fake, settings, dev_guild_id=home, home_guild_id=home), home):
        removed = await fake.send_interaction(
            "corpus remove", {"article_id": "\u202enope\u200b"}, user=fake.admin
        )
        dated = await fake.send_interaction("ask", {"question": "sanctions", "until": "\u2066soon\u2069"})
        replies = [(await removed.reply())["content"], (await dated.reply())["content"]]
    assert "No article with id “nope”" in replies[0] and "“soon”" in replies[1]
    for reply in replies:
        assert not any(c in reply for c in "\u202e\u200b\u2066\u2069")
