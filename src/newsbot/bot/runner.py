"""`newsbot run` and `newsbot sync`: blocking entry points that raise ConfigError, never a traceback.

`run` logs in before opening the index, so a wrong token is reported in a second instead of
after a long first build; the gateway connection comes last, once the engine is attached.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import discord
from discord.http import Route

from newsbot.bot import deliveries
from newsbot.bot.background import FeedPolling
from newsbot.bot.client import NewsBot, make_bot
from newsbot.bot.endpoints import apply_endpoints
from newsbot.errors import ConfigError
from newsbot.settings import Settings

log = logging.getLogger(__name__)
LOGIN_TIMEOUT = 30.0  # seconds: Discord answers a login in well under one


def run(settings: Settings) -> None:
    """Start the bot and serve until it is stopped (Ctrl+C)."""
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        log.info("Stopped.")


def sync(settings: Settings) -> str:
    """Register the slash commands (to NEWSBOT_DEV_GUILD_ID when set, else globally) and say so."""
    return asyncio.run(push_commands(settings))


def require_token(settings: Settings) -> str:
    token = (settings.discord_token or "").strip()
    if not token:
        raise ConfigError(
            "DISCORD_TOKEN is not set: put DISCORD_TOKEN=<your bot token> in .env "
            "(see .env.example; the token is under Bot → Reset Token in the "
            "Discord developer portal)."
        )
    return token


def check_roles(settings: Settings) -> None:
    """Refuse a server id among the admin or moderator role ids: it is that server's @everyone
    role, which would make every member an admin or a moderator."""
    servers = {g for g in (settings.home_guild_id, settings.dev_guild_id) if g is not None}
    for env, ids in (
        ("NEWSBOT_ADMIN_ROLE_IDS", settings.admin_role_ids),
        ("NEWSBOT_MOD_ROLE_IDS", settings.mod_role_ids),
        ("NEWSBOT_WATCH_ROLE_IDS", settings.watch_role_ids),
    ):
        wrong = sorted(ids & servers)
        if wrong:
            raise ConfigError(
                f"{env} contains {wrong[0]}, the server's own id: that is the @everyone role, "
                "which would give every member these rights. Remove it and list real role ids."
            )


def check_shards(settings: Settings) -> None:
    """Shard ids need a count to be read against, and each must be below it."""
    ids, count = sorted(settings.shard_ids), settings.shard_count
    if ids and not count:
        raise ConfigError(
            "NEWSBOT_SHARD_IDS needs NEWSBOT_SHARD_COUNT set to the total number of shards, the same "
            "in every process (say 2, with NEWSBOT_SHARD_IDS=0 in one process and 1 in the other)."
        )
    if ids and count and ids[-1] >= count:
        raise ConfigError(
            f"NEWSBOT_SHARD_IDS contains {ids[-1]}, but shards are numbered 0 to {count - 1} "
            f"(NEWSBOT_SHARD_COUNT={count})."
        )


async def serve(settings: Settings) -> None:
    """Log in, open the index and the query log, then stay connected until closed or cancelled."""
    from newsbot.engine import Engine
    from newsbot.querylog import open_query_log
    from newsbot.querylog.buffer import BufferedQueryLog

    check_roles(settings)
    check_shards(settings)
    token = require_token(settings)
    bot = make_bot(settings, sync_global=True)  # setup_hook syncs: dev guild, else globally
    apply_endpoints(bot, settings.discord_api_base, settings.discord_gateway_url)
    async with bot:
        await login(bot, token)
        log.info("Opening the index (building it on first run)…")
        engine = await asyncio.to_thread(Engine.open, settings)
        await asyncio.to_thread(engine.warm)
        # Rows the store cannot take (full disk, database down) wait in memory and are retried.
        querylog = BufferedQueryLog(await asyncio.to_thread(open_query_log, settings))
        bot.attach(engine, querylog)
        following = engine.follow()  # answer from what another process indexes, within a second
        stop_watches = await deliveries.start(bot, settings)  # /watch, and their posts when leading
        feeds = FeedPolling(bot).start()  # polls only while this process leads (newsbot.leader)
        try:
            await bot.connect()
        finally:
            await feeds.stop()
            await stop_watches()
            following.set()
            engine.close()
            querylog.close()


async def push_commands(settings: Settings) -> str:
    """Log in over REST only (no gateway, no index) and sync the slash commands."""
    token = require_token(settings)
    bot = NewsBot(settings, sync_global=True)
    apply_endpoints(bot, settings.discord_api_base, settings.discord_gateway_url)
    async with bot:
        await login(bot, token)  # setup_hook syncs
    where = (
        f"server {settings.dev_guild_id}"
        if settings.dev_guild_id
        else "every server (global commands can take up to an hour to appear)"
    )
    names = ", ".join(f"/{command.name}" for command in bot.synced)
    return f"Synced {len(bot.synced)} command(s) to {where}: {names}."


async def login(bot: NewsBot, token: str) -> None:
    """Log in over REST; a rejected token, an unreachable or silent Discord, or an API base that
    is not Discord's API becomes one clear line."""
    try:
        async with asyncio.timeout(LOGIN_TIMEOUT):
            await bot.login(token)
    except TimeoutError:
        raise ConfigError(
            f"Discord at {Route.BASE} accepted the connection but did not answer within "
            f"{LOGIN_TIMEOUT:g} s: check DISCORD_API_BASE and the network."
        ) from None
    except discord.LoginFailure:
        raise ConfigError(
            "Discord rejected DISCORD_TOKEN: copy the bot token again from the "
            "developer portal (Bot → Reset Token) into .env."
        ) from None
    except (aiohttp.ClientError, OSError) as exc:
        raise ConfigError(f"Cannot reach Discord at {Route.BASE}: {exc}") from None
    except discord.HTTPException as exc:
        raise ConfigError(
            f"{Route.BASE} answered HTTP {exc.status} to the login: is DISCORD_API_BASE the address "
            "of Discord's API (…/api/v10)?"
        ) from None
