"""Shared helpers for the Discord-layer tests: small records, spec'd mock interactions, a bot."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord

from newsbot.bot.client import NewsBot
from newsbot.engine import Engine
from newsbot.querylog import SqliteQueryLog
from newsbot.records import Answer, Citation, Filters, Hit, Snippet
from newsbot.settings import Settings

from .fakediscord import FakeDiscord


def snippet(text: str, *words: str) -> Snippet:
    """`text` with every occurrence of `words` marked, as the core marks matched words."""
    marks = sorted(m.span() for w in words for m in re.finditer(re.escape(w), text))
    return Snippet(text, tuple(marks))


def hit(
    text: str,
    *words: str,
    title: str = "A title",
    url: str | None = "https://example.org/a",
    source: str | None = "Coast Herald",
    day: date | None = date(2024, 3, 4),
    article_id: str = "a1",
    n: int = 0,
) -> Hit:
    cite = Citation(article_id=article_id, title=title, source=source, date=day, url=url, path="a.txt")
    return Hit(citation=cite, passage_id=n, position=n, score=1.0 - n / 10, snippet=snippet(text, *words))


def answer(
    *hits: Hit,
    question: str = "who opened the solar farm?",
    matched: bool = True,
    best: Snippet | None = None,
    filters: Filters = Filters(),
) -> Answer:
    return Answer(
        question=question,
        hits=hits,
        best_sentence=best,
        matched=matched,
        index_version="v1",
        took_ms=2.0,
        filters=filters,
    )


def interaction(
    *,
    user_id: int = 42,
    guild: bool = True,
    manage_guild: bool = False,
    manage_messages: bool = False,
    role_ids: tuple[int, ...] = (),
    settings: Settings | None = None,
    done: bool = False,
    response_type: discord.InteractionResponseType | None = None,
) -> MagicMock:
    """A spec'd `discord.Interaction` whose response and followup record what is sent."""
    inter = MagicMock(spec=discord.Interaction)
    inter.id = 1234567890123456789
    inter.guild_id = 99 if guild else None
    inter.channel_id = 7
    inter.guild = MagicMock(spec=discord.Guild) if guild else None
    user = MagicMock(spec=discord.Member if guild else discord.User)
    user.id, user.name = user_id, "alice"
    user.roles = [_role(r) for r in role_ids]
    inter.user = user
    # Server-level rights (what the checks read) and, as Discord sends them, the channel's.
    user.guild_permissions = discord.Permissions(manage_guild=manage_guild, manage_messages=manage_messages)
    inter.permissions = discord.Permissions(manage_guild=manage_guild, manage_messages=manage_messages)
    inter.client = MagicMock(spec=NewsBot)
    inter.client.settings = settings or Settings()
    inter.command = None
    inter.namespace = discord.app_commands.Namespace(inter, {}, [])
    inter.response = response = MagicMock(spec=discord.InteractionResponse)
    response.type = response_type
    response.is_done.side_effect = lambda: done or response.type is not None
    kinds = {
        "send_message": discord.InteractionResponseType.channel_message,
        "defer": discord.InteractionResponseType.deferred_channel_message,
        "autocomplete": discord.InteractionResponseType.autocomplete_result,
    }
    for name, kind in kinds.items():
        setattr(response, name, AsyncMock(side_effect=_responds(response, kind)))
    inter.followup = MagicMock(spec=discord.Webhook)
    inter.followup.send = AsyncMock()
    inter.edit_original_response = AsyncMock()
    inter.delete_original_response = AsyncMock()
    return inter


def _responds(response: MagicMock, kind: discord.InteractionResponseType) -> Any:
    """A side effect that marks the mock interaction as responded, like discord.py does."""

    def respond(*_args: Any, **_kwargs: Any) -> None:
        if response.type is not None:
            raise discord.InteractionResponded(MagicMock())
        response.type = kind

    return respond


def _role(role_id: int) -> MagicMock:
    role = MagicMock(spec=discord.Role)
    role.id = role_id
    return role


def sent_kwargs(mock: AsyncMock) -> dict[str, Any]:
    """The keyword arguments of the single call to `mock`."""
    mock.assert_awaited_once()
    assert mock.await_args is not None
    return dict(mock.await_args.kwargs)


def open_bot(settings: Settings, **kwargs: Any) -> NewsBot:
    """A bot over a real engine and a real query log in the settings' data folder."""
    engine = Engine.open(settings)
    querylog = SqliteQueryLog(Path(settings.querylog_path), settings.log_retention_days)
    return NewsBot(settings, engine=engine, querylog=querylog, **kwargs)


# Where a bot posts or edits a message: channels, and the webhook of an interaction.
MESSAGE_ROUTE = re.compile(r"/channels/\d+/messages(/\d+)?|/webhooks/\d+/[^/]+(/messages/[^/]+)?")


def _message_bodies(fake: FakeDiscord) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every message body the bot sent the fake: posts and replies, interaction answers,
    edits of them and followups."""
    for request in fake.requests:
        body = request.json if isinstance(request.json, dict) else None
        if body is None or request.method not in ("POST", "PATCH"):
            continue
        if request.path.endswith("/callback"):
            if body.get("type") in (4, 7):  # a message, or an update of one
                yield str(request), body.get("data") or {}
        elif MESSAGE_ROUTE.fullmatch(request.path):
            yield str(request), body


def pings(fake: FakeDiscord) -> list[str]:
    """Whatever the bot sent that pinged, or could have pinged, anyone: a message of the bot
    that mentions a person, a role or everyone, or a body sent without `allowed_mentions`
    set to nobody. An empty list is what a test wants."""
    found = [
        f"{where}: allowed_mentions {body.get('allowed_mentions')}"
        for where, body in _message_bodies(fake)
        if (body.get("allowed_mentions") or {}).get("parse") != []
        or (body.get("allowed_mentions") or {}).get("replied_user")
    ]
    bot = str(fake.bot_user.id)
    found += [
        f"message {m['id']} pinged {m['mentions']} {m['mention_roles']} everyone={m['mention_everyone']}"
        for m in fake.messages.values()
        if m["author"]["id"] == bot and (m["mention_everyone"] or m["mentions"] or m["mention_roles"])
    ]
    return found
