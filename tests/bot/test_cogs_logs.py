"""The Logs cog with spec'd mock interactions over a real query log holding two guilds."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest
from discord import app_commands

from newsbot.bot.checks import Refused, is_mod
from newsbot.bot.client import NewsBot
from newsbot.bot.cogs.logs import ConfirmForget, Logs, RecentPager
from newsbot.bot.embeds.logrender import query_embed, recent_embed, review_embed
from newsbot.bot.limits import DESCRIPTION, EMBED_TOTAL
from newsbot.errors import NewsbotError, NotFound
from newsbot.querylog import QueryRecord, Shown, SqliteQueryLog
from newsbot.settings import Settings
from tests.bot.support import interaction, sent_kwargs

GUILD, OTHER = 99, 77  # support.interaction() runs in guild 99
MOD, ALICE, BOB = 42, 501, 502
HOSTILE = (
    "@everyone @here <@&123456789> <@501> **bold** __u__ ||spoiler|| [x](https://evil.example)"
    " # heading\n> quote\x1b[31m\u202eevil\x00" + "A" * 10_000
)
NOW = datetime.now(UTC)


def record(
    question: str,
    *,
    guild: int = GUILD,
    user: int = ALICE,
    outcome: str = "answered",
    channel: int = 7,
    minutes_ago: float = 0,
    **extra: Any,
) -> QueryRecord:
    shown = (
        (
            Shown("harbour-1", 0, "Harbour city opens floating solar farm", 0.83),
            Shown("rail-2", 1, "Rail strike halts northern trains", 0.41),
        )
        if outcome == "answered"
        else ()
    )
    return QueryRecord(
        question=question,
        interface="slash",
        outcome=outcome,
        guild_id=guild,
        channel_id=channel,
        user_id=user,
        user_name=f"user{user}",
        shown=shown,
        latency_ms=10.0 + minutes_ago,
        index_version="v1",
        created_at=NOW - timedelta(minutes=minutes_ago),
        **extra,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteQueryLog]:
    with SqliteQueryLog(tmp_path / "querylog.sqlite3") as log:
        yield log


@pytest.fixture
def ids(store: SqliteQueryLog) -> dict[str, int]:
    """Rows of two guilds; the other guild's questions all contain 'SECRET'."""
    rows = {
        "solar": record("who opened the solar farm?", minutes_ago=50),
        "rail": record("rail strike?", user=BOB, channel=8, minutes_ago=40),
        "moon1": record("moon base plans", outcome="no_match", minutes_ago=30),
        "moon2": record("Moon base plans!", user=BOB, outcome="no_match", minutes_ago=20),
        "refused": record("x", outcome="refused", error="BadQuestion: too short", minutes_ago=10),
        "secret": record("SECRET other guild question", guild=OTHER, minutes_ago=5),
        "secret_nomatch": record("SECRET unanswered", guild=OTHER, outcome="no_match", minutes_ago=4),
        "alice_other": record("SECRET alice elsewhere", guild=OTHER, minutes_ago=3),
    }
    return {name: store.record(rec) for name, rec in rows.items()}


@pytest.fixture
async def bot(store: SqliteQueryLog, tmp_path: Path) -> AsyncIterator[NewsBot]:
    bot = NewsBot(Settings(data_dir=tmp_path), querylog=store)
    yield bot
    await bot.close()


@pytest.fixture
def cog(bot: NewsBot) -> Logs:
    return Logs(bot)


def mod(**kwargs: Any) -> MagicMock:
    inter = interaction(user_id=MOD, manage_messages=True, **kwargs)
    inter.filesize_limit = 10 * 1024 * 1024
    inter.response.edit_message = AsyncMock()
    return inter


def edit(inter: MagicMock) -> dict[str, Any]:
    inter.edit_original_response.assert_awaited()
    return dict(inter.edit_original_response.await_args.kwargs)


def row_ids(embed: discord.Embed) -> list[int]:
    return [
        int(line.split("`#")[1].split("`")[0])
        for line in (embed.description or "").splitlines()
        if line.startswith("`#")
    ]


def test_every_logs_command_is_hidden_checked_and_described(cog: Logs) -> None:
    marker = is_mod()(lambda: None).__discord_app_commands_checks__[0]  # type: ignore[attr-defined]
    commands = {c.qualified_name: c for c in cog.walk_app_commands() if isinstance(c, app_commands.Command)}
    assert set(commands) == {
        f"logs {n}" for n in ("recent", "show", "unanswered", "stats", "export", "flag", "forget")
    }
    for name, command in commands.items():
        root = command.root_parent
        assert root is not None and root.default_permissions == discord.Permissions(manage_messages=True), (
            name
        )
        assert root.guild_only, name
        assert [c.__qualname__ for c in command.checks] == [marker.__qualname__], name
        assert command.description and not command.description.startswith("…"), name
        assert all(p.description and p.description != "…" for p in command.parameters), name


@pytest.mark.parametrize("kwargs", [{}, {"manage_guild": False, "role_ids": (5,)}])
def test_members_without_manage_messages_are_refused(cog: Logs, kwargs: dict[str, Any]) -> None:
    for command in cog.walk_app_commands():
        if isinstance(command, app_commands.Command):
            with pytest.raises(Refused, match="Manage Messages"):
                command.checks[0](interaction(**kwargs))


def test_moderators_pass_the_check_and_dms_are_refused(cog: Logs) -> None:
    check = cog.recent.checks[0]
    assert check(interaction(manage_messages=True)) is True
    settings = Settings(mod_role_ids=frozenset({20}))
    assert check(interaction(role_ids=(20,), settings=settings)) is True
    with pytest.raises(app_commands.NoPrivateMessage):
        check(interaction(guild=False, manage_messages=True))


async def test_recent_lists_this_guild_only_newest_first(cog: Logs, ids: dict[str, int]) -> None:
    inter = mod()
    await cog.recent.callback(cog, inter)  # type: ignore[arg-type]
    assert sent_kwargs(inter.response.defer) == {"ephemeral": True, "thinking": True}
    result = edit(inter)
    embed = result["embed"]
    assert row_ids(embed) == [ids[n] for n in ("refused", "moon2", "moon1", "rail", "solar")]
    assert "SECRET" not in str(embed.to_dict())
    assert "view" not in result  # one page: no buttons
    assert "user501 (501)" in embed.description and "<@501>" not in embed.description
    assert "→ Harbour city opens floating solar farm" in embed.description


async def test_recent_filters(cog: Logs, ids: dict[str, int]) -> None:
    user = MagicMock(spec=discord.Member, id=BOB)
    channel = MagicMock(spec=app_commands.AppCommandChannel, id=8)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"user": user}, ["moon2", "rail"]),
        ({"channel": channel}, ["rail"]),
        ({"outcome": "no_match"}, ["moon2", "moon1"]),
        ({"user": user, "outcome": "answered"}, ["rail"]),
    ]
    for options, expected in cases:
        inter = mod()
        await cog.recent.callback(cog, inter, **options)  # type: ignore[arg-type]
        assert row_ids(edit(inter)["embed"]) == [ids[n] for n in expected], options
    inter = mod()
    await cog.recent.callback(cog, inter, outcome="error")  # type: ignore[arg-type]
    assert edit(inter)["embed"].description == "No questions match."


async def test_recent_pages_with_buttons_only_for_the_moderator(
    cog: Logs,
    store: SqliteQueryLog,
) -> None:
    made = [store.record(record(f"question {n}", minutes_ago=100 - n)) for n in range(23)]
    store.record(record("SECRET", guild=OTHER))
    newest_first = made[::-1]
    inter = mod()
    await cog.recent.callback(cog, inter, limit=10)  # type: ignore[arg-type]
    first = edit(inter)
    pager = first["view"]
    assert isinstance(pager, RecentPager) and pager.timeout and pager.timeout <= 900
    assert row_ids(first["embed"]) == newest_first[:10]
    assert pager.previous_page.disabled and not pager.next_page.disabled

    pages = []
    for button in (pager.next_page, pager.next_page, pager.previous_page):
        click = mod()
        assert await pager.interaction_check(click) is True
        await button.callback(click)
        assert sent_kwargs(click.response.defer) == {}  # type 6: the page edits its message
        page = sent_kwargs(click.edit_original_response)
        assert page["view"] is pager
        pages.append(
            (
                row_ids(page["embed"]),
                pager.previous_page.disabled,
                pager.next_page.disabled,
                page["embed"].footer.text,
            )
        )
    assert pages[0] == (newest_first[10:20], False, False, "Page 2 · rows 11–20")
    assert pages[1] == (newest_first[20:], False, True, "Page 3 · rows 21–23")
    assert pages[2][0] == newest_first[10:20]

    stranger = interaction(user_id=7777, manage_messages=True)
    assert await pager.interaction_check(stranger) is False
    refusal = sent_kwargs(stranger.response.send_message)
    assert refusal["ephemeral"] is True

    await pager.on_timeout()
    assert inter.edit_original_response.await_args.kwargs == {"view": None}


async def test_an_expired_reply_is_not_an_error(cog: Logs, store: SqliteQueryLog) -> None:
    for n in range(3):
        store.record(record(f"q{n}"))
    inter = mod()
    await cog.recent.callback(cog, inter, limit=1)  # type: ignore[arg-type]
    pager = edit(inter)["view"]
    gone = MagicMock(status=404, reason="Not Found")
    inter.edit_original_response.side_effect = discord.NotFound(gone, "Unknown Message")
    await pager.on_timeout()  # does not raise


async def test_a_failing_page_turn_is_answered_privately(cog: Logs, store: SqliteQueryLog) -> None:
    for n in range(3):
        store.record(record(f"q{n}"))
    inter = mod()
    await cog.recent.callback(cog, inter, limit=1)  # type: ignore[arg-type]
    pager = edit(inter)["view"]
    click = mod()
    await pager.on_error(click, NewsbotError("the query log is locked"), pager.next_page)
    args = click.response.send_message.await_args
    assert args.args == ("the query log is locked",) and args.kwargs == {"ephemeral": True}


async def test_show_one_question_in_full(cog: Logs, store: SqliteQueryLog, ids: dict[str, int]) -> None:
    store.vote(ids["solar"], 1, True)
    store.vote(ids["solar"], 2, False)
    store.flag(GUILD, ids["solar"], MOD, "wrong **article**")
    inter = mod()
    await cog.show.callback(cog, inter, ids["solar"])  # type: ignore[arg-type]
    embed = edit(inter)["embed"]
    fields = {f.name: f.value for f in embed.fields}
    assert embed.title == f"Question #{ids['solar']}"
    assert embed.description == "who opened the solar farm?"
    assert fields["By"] == "user501 (501)" and fields["Where"] == "<#7> · slash"
    assert fields["Outcome"] == "✅ answered" and fields["Latency"] == "60.0 ms"
    assert fields["Index"] == "v1" and fields["Votes"] == "👍 1 · 👎 1"
    assert "`0.83` Harbour city opens floating solar farm · harbour-1 #0" in fields["Shown (2)"]
    assert "moderator 42: wrong \\*\\*article\\*\\*" in fields["Flags (1)"]


async def test_show_refused_question_has_its_error(cog: Logs, ids: dict[str, int]) -> None:
    inter = mod()
    await cog.show.callback(cog, inter, ids["refused"])  # type: ignore[arg-type]
    fields = {f.name: f.value for f in edit(inter)["embed"].fields}
    assert fields["Error"] == "BadQuestion: too short" and fields["Shown (0)"] == "nothing"


@pytest.mark.parametrize("name", ["secret", None])
async def test_show_never_reveals_another_guilds_row(
    cog: Logs, ids: dict[str, int], name: str | None
) -> None:
    row = ids[name] if name else 10_000
    with pytest.raises(NotFound):
        await cog.show.callback(cog, mod(), row)  # type: ignore[arg-type]


async def test_unanswered_groups_this_guilds_no_matches(cog: Logs, ids: dict[str, int]) -> None:
    inter = mod()
    await cog.unanswered.callback(cog, inter, days=7)  # type: ignore[arg-type]
    embed = edit(inter)["embed"]
    assert embed.title == "Unanswered questions · last 7 days"
    [line] = embed.description.splitlines()
    assert line.startswith("**2×** Moon base plans!") and "SECRET" not in line
    assert embed.footer.text == "2 questions in 1 groups"


async def test_stats_for_this_guild(cog: Logs, store: SqliteQueryLog, ids: dict[str, int]) -> None:
    store.vote(ids["solar"], 1, False)
    store.vote(ids["secret"], 1, True)  # another guild's vote is not counted here
    inter = mod()
    await cog.stats.callback(cog, inter, days=0)  # type: ignore[arg-type]
    embed = edit(inter)["embed"]
    fields = {f.name: f.value for f in embed.fields}
    assert embed.title == "Query log · all time"
    assert fields["Questions"] == "5"
    assert fields["Answered"] == "2 (40%)" and fields["No match"] == "2 (40%)"
    assert fields["Other"] == "⛔ refused: 1"
    assert fields["Latency"] == "p50 40 ms · p95 60 ms"
    assert fields["Feedback"] == "👍 0 · 👎 1 · 0 flagged"
    assert fields["Top questions"].startswith("**2×** Moon base plans!")
    assert "SECRET" not in str(embed.to_dict())


async def test_export_is_a_csv_of_this_guild(cog: Logs, store: SqliteQueryLog, ids: dict[str, int]) -> None:
    hostile = store.record(record(HOSTILE))
    inter = mod()
    await cog.export.callback(cog, inter, days=0)  # type: ignore[arg-type]
    result = edit(inter)
    [file] = result["attachments"]
    assert isinstance(file, discord.File) and file.filename.endswith(".csv")
    assert result["content"].startswith("6 questions asked in this server, all time.")
    rows = list(csv.DictReader(io.StringIO(file.fp.read().decode("utf-8"))))
    assert [int(r["id"]) for r in rows] == [
        ids[n] for n in ("solar", "rail", "moon1", "moon2", "refused")
    ] + [hostile]
    assert {r["guild_id"] for r in rows} == {str(GUILD)}
    assert rows[-1]["question"] == "'" + HOSTILE.replace("\x00", "")  # exact but for NUL, never a formula
    assert json.loads(rows[0]["shown"])[0]["title"] == "Harbour city opens floating solar farm"


async def test_export_too_big_for_discord_is_refused(cog: Logs, ids: dict[str, int]) -> None:
    inter = mod()
    inter.filesize_limit = 100
    with pytest.raises(NewsbotError, match="newsbot logs export"):
        await cog.export.callback(cog, inter, days=0)  # type: ignore[arg-type]


async def test_flag_is_stored_and_scoped(cog: Logs, store: SqliteQueryLog, ids: dict[str, int]) -> None:
    inter = mod()
    await cog.flag.callback(cog, inter, ids["rail"], "quoted the wrong @everyone")  # type: ignore[arg-type]
    assert edit(inter)["content"] == f"Flagged question #{ids['rail']}: quoted the wrong @\u200beveryone"
    [flag] = store.get(GUILD, ids["rail"]).flags
    assert (flag.moderator_id, flag.reason) == (MOD, "quoted the wrong @everyone")
    with pytest.raises(NotFound):
        await cog.flag.callback(cog, mod(), ids["secret"], "nosy")  # type: ignore[arg-type]
    assert store.get(None, ids["secret"]).flags == ()


async def test_forget_asks_then_deletes_only_in_this_guild(
    cog: Logs, store: SqliteQueryLog, ids: dict[str, int]
) -> None:
    store.vote(ids["rail"], ALICE, True)  # a vote Alice cast on Bob's answer
    user = MagicMock(spec=discord.Member, id=ALICE)
    user.name = "alice **the** @everyone"
    inter = mod()
    await cog.forget.callback(cog, inter, user)  # type: ignore[arg-type]
    ask = edit(inter)
    view = ask["view"]
    assert isinstance(view, ConfirmForget)
    assert "alice \\*\\*the\\*\\* @\u200beveryone (501)" in ask["content"]
    assert len(store.recent(GUILD, user_id=ALICE)) == 3  # nothing deleted before confirming

    stranger = interaction(user_id=7777, manage_messages=True)
    assert await view.interaction_check(stranger) is False

    click = mod()
    await view.confirm.callback(click)
    done = sent_kwargs(click.edit_original_response)
    assert done["view"] is None and done["content"].startswith("Deleted 3 logged questions")
    assert store.recent(GUILD, user_id=ALICE) == []
    assert store.get(GUILD, ids["rail"]).votes.up == 0
    assert [q.id for q in store.recent(OTHER, user_id=ALICE)] == [
        ids["alice_other"],
        ids["secret_nomatch"],
        ids["secret"],
    ]


async def test_forget_can_be_cancelled_or_time_out(
    cog: Logs, store: SqliteQueryLog, ids: dict[str, int]
) -> None:
    user = MagicMock(spec=discord.User, id=ALICE)
    user.name = "alice"
    inter = mod()
    await cog.forget.callback(cog, inter, user)  # type: ignore[arg-type]
    view = edit(inter)["view"]
    click = mod()
    await view.cancel.callback(click)
    assert sent_kwargs(click.response.edit_message)["content"] == "Cancelled: nothing was deleted."
    await view.on_timeout()
    assert inter.edit_original_response.await_args.kwargs == {
        "content": "Timed out: nothing was deleted.",
        "view": None,
    }
    assert len(store.recent(GUILD, user_id=ALICE)) == 3


async def test_hostile_questions_display_safely(cog: Logs, store: SqliteQueryLog) -> None:
    row = store.record(record(HOSTILE, outcome="answered"))
    embeds = [
        recent_embed(store.recent(GUILD), page=0, per_page=10, filters=""),
        query_embed(store.get(GUILD, row)),
        review_embed(store.get(GUILD, row), "no match"),
    ]
    for embed in embeds:
        text = f"{embed.title}\n{embed.description}\n" + "\n".join(
            f"{f.name}\n{f.value}" for f in embed.fields
        )
        assert len(embed) <= EMBED_TOTAL and len(embed.description or "") <= DESCRIPTION
        assert "@everyone" not in text and "@here" not in text
        assert not re.search(r"(?<!\\)<@", text) and not re.search(r"(?<!\\)\]\(", text)
        assert "**bold**" not in text and "\\*\\*bold\\*\\*" in text
        assert not any(c in text for c in "\x1b\x00\u202e")
        assert "\n> quote" not in text and "\n# heading" not in text


async def test_periodic_prune_drops_old_rows(tmp_path: Path) -> None:
    with SqliteQueryLog(tmp_path / "q.sqlite3", retention_days=30) as store:
        old = record("old", minutes_ago=60 * 24 * 40)
        store._last_prune = float("inf")  # the store's own hourly prune does not run here
        store.record(old)
        store.record(record("new"))
        bot = NewsBot(Settings(data_dir=tmp_path, log_retention_days=30), querylog=store)
        try:
            assert await Logs(bot).prune() == 1
            assert [q.record.question for q in store.recent(None)] == ["new"]
        finally:
            await bot.close()
