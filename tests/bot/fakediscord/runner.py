"""Run a real discord.py bot against the fake for the length of a `with` block."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

import discord

from newsbot.bot.endpoints import apply_endpoints

from .server import FakeDiscord

BotT = TypeVar("BotT", bound=discord.Client)


@asynccontextmanager
async def run_bot(
    bot: BotT, fake: FakeDiscord, *, token: str | None = None, timeout: float = 5.0
) -> AsyncIterator[BotT]:
    """Point `bot` at `fake` (so it cannot reach Discord), start it, wait until it has every
    fake guild, and close it on exit. A failed start (say LoginFailure) is raised here, and so
    is an error that ended the bot's connection while the test ran."""
    apply_endpoints(bot, fake.api_base, fake.gateway_url)
    task = asyncio.create_task(bot.start(token or fake.token))
    try:
        async with asyncio.timeout(timeout):
            while not all(bot.get_guild(g.id) for g in fake.guilds):
                if task.done():
                    task.result()
                    raise RuntimeError("the bot stopped before it was ready")
                await asyncio.sleep(0.01)
        yield bot
    finally:
        await bot.close()
        done, _ = await asyncio.wait([task], timeout=timeout)
        if not done:
            task.cancel()
            raise TimeoutError(f"the bot did not stop within {timeout}s of bot.close()")
        error = task.exception()  # retrieved here so a failing test does not also warn
    if error is not None:
        raise error
