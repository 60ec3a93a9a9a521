"""runner: user-facing problems are one ConfigError line, and the order of start-up is right."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import sys
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.http import Route

from newsbot.bot import runner
from newsbot.bot.client import NewsBot, intents
from newsbot.engine import Engine
from newsbot.errors import ConfigError
from newsbot.settings import Settings

from .fakediscord import FakeDiscord


@pytest.fixture(autouse=True)
def _keep_route_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Route, "BASE", Route.BASE)  # apply_endpoints sets it process wide


@pytest.mark.parametrize("token", [None, "", "   "])
def test_a_missing_token_says_where_to_put_it(settings: Settings, token: str | None) -> None:
    missing = dataclasses.replace(settings, discord_token=token)
    for entry in (runner.run, runner.sync):
        with pytest.raises(ConfigError, match=r"DISCORD_TOKEN.*\.env") as caught:
            entry(missing)
        assert "\n" not in caught.value.message


def test_a_rejected_token_is_one_line_and_the_index_is_never_opened(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def reject(self: NewsBot, token: str) -> None:
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setattr(NewsBot, "login", reject)
    monkeypatch.setattr(Engine, "open", _must_not_run)
    with pytest.raises(ConfigError, match="rejected DISCORD_TOKEN") as caught:
        runner.run(dataclasses.replace(settings, discord_token="bad"))
    assert "\n" not in caught.value.message and caught.value.__cause__ is None


def test_an_unreachable_discord_is_one_line(settings: Settings) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = dataclasses.replace(
        settings, discord_token="t", discord_api_base=f"http://127.0.0.1:{port}/api/v10"
    )
    with pytest.raises(ConfigError, match="Cannot reach Discord"):
        runner.sync(closed)


def test_bad_endpoint_urls_are_config_errors(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="DISCORD_API_BASE"):
        runner.sync(dataclasses.replace(settings, discord_token="t", discord_api_base="ftp://x"))


def test_run_logs_in_then_opens_the_index_then_connects(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[str] = []
    real_open = Engine.open

    async def login(self: NewsBot, token: str) -> None:
        steps.append(f"login {token}")

    def open_engine(s: Settings, **kwargs: Any) -> Engine:
        steps.append("open")
        return real_open(s, **kwargs)

    async def connect(self: NewsBot, **kwargs: Any) -> None:
        steps.append(f"connect with {self.engine.stats().articles} articles")

    monkeypatch.setattr(NewsBot, "login", login)
    monkeypatch.setattr(Engine, "open", open_engine)
    monkeypatch.setattr(NewsBot, "connect", connect)
    runner.run(dataclasses.replace(settings, discord_token="tok"))
    assert steps == ["login tok", "open", "connect with 4 articles"]


def test_the_client_asks_for_no_privileged_intent_and_pings_nobody(settings: Settings) -> None:
    chosen = intents()
    assert not (chosen.members or chosen.presences or chosen.message_content)
    assert chosen.guild_messages and chosen.guilds
    bot = NewsBot(settings)
    mentions = bot.allowed_mentions
    assert mentions is not None and mentions.to_dict() == {"parse": []}


def test_the_bot_refuses_to_work_before_its_engine_is_attached(settings: Settings) -> None:
    bot = NewsBot(settings)
    with pytest.raises(RuntimeError):
        _ = bot.engine
    with pytest.raises(RuntimeError):
        _ = bot.querylog


async def test_sync_registers_the_commands_with_the_fake(
    fake_discord: FakeDiscord, settings: Settings
) -> None:
    target = dataclasses.replace(
        settings,
        discord_token=fake_discord.token,
        discord_api_base=fake_discord.api_base,
        home_guild_id=fake_discord.guild.id,
    )
    said = await asyncio.to_thread(runner.sync, target)
    assert said.startswith("Synced ") and "to every server" in said and "/ask" in said
    assert {"ask", "corpus"} <= {c["name"] for c in fake_discord.commands[None]}
    assert {c["name"] for c in fake_discord.commands[fake_discord.guild.id]} == {"reindex"}
    guild = dataclasses.replace(target, dev_guild_id=fake_discord.guild.id)
    said = await asyncio.to_thread(runner.sync, guild)
    assert f"server {fake_discord.guild.id}" in said
    assert {"ask", "reindex", "corpus"} <= {c["name"] for c in fake_discord.commands[fake_discord.guild.id]}
    assert not fake_discord.gateway.connections  # sync never opens the gateway


async def test_a_wrong_token_against_the_fake_is_one_line(
    fake_discord: FakeDiscord, settings: Settings
) -> None:
    target = dataclasses.replace(
        settings,
        discord_token="not-the-token",
        discord_api_base=fake_discord.api_base,
        discord_gateway_url=fake_discord.gateway_url,
    )
    with pytest.raises(ConfigError, match="rejected DISCORD_TOKEN"):
        await asyncio.to_thread(runner.run, target)


def _must_not_run(*_: Any, **__: Any) -> None:
    raise AssertionError("the index was opened before the token was checked")


async def newsbot_cli(*args: str, cwd: Path, **env: str) -> tuple[int, str, str]:
    """Run the installed `newsbot` entry point in a subprocess without blocking the fake's loop."""
    environ = {**os.environ, "COLUMNS": "1000", **env}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from newsbot.cli import main; main()",
        *args,
        cwd=cwd,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("token", ["", "not-the-token"])
async def test_newsbot_run_with_a_bad_token_prints_one_line(
    fake_discord: FakeDiscord, settings: Settings, tmp_path: Path, token: str
) -> None:
    code, out, err = await newsbot_cli(
        "run",
        cwd=tmp_path,
        DISCORD_TOKEN=token,
        NEWSBOT_CORPUS_DIR=str(settings.corpus_dir),
        NEWSBOT_DATA_DIR=str(settings.data_dir),
        DISCORD_API_BASE=fake_discord.api_base,
        DISCORD_GATEWAY_URL=fake_discord.gateway_url,
    )
    assert code == 1 and out == ""
    lines = err.strip().splitlines()  # INFO logging may say it is logging in first
    errors = [line for line in lines if "Error" in line or "WARNING" in line]
    assert len(errors) == 1 and errors[0] == lines[-1], err
    assert lines[-1].startswith("Error: ") and "DISCORD_TOKEN" in lines[-1] and ".env" in lines[-1]
    assert "Traceback" not in err
    assert not settings.index_dir.exists()  # refused before the (slow) index build
