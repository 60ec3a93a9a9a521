"""`newsbot logs`: read and manage the query log from a shell.

Tables are for humans and show user text defanged (no control characters or ANSI escapes, rich
markup escaped, long text cut); `--json` and `--csv` are for scripts and carry the text exactly
(JSON escapes every control character; CSV is exact in a pipe or file, defanged on a terminal).
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from newsbot.cli.common import DataOpt, JsonOpt, flag, load_settings, print_error
from newsbot.errors import NewsbotError, NotFound
from newsbot.querylog import SqliteQueryLog, SqlQueryLog, open_query_log
from newsbot.querylog.records import LoggedQuery, LogStats, Outcome, QuestionGroup, write_csv

logs_app = typer.Typer(
    name="logs", help="Read and manage the query log.", no_args_is_help=True, add_completion=False
)

GuildOpt = Annotated[
    int | None, typer.Option("--guild", metavar="ID", help="Only this guild (default: all).")
]
CsvOpt = Annotated[bool, flag("--csv", help="Print CSV, for scripts.")]

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_])")
# C0 / C1 controls and the bidi overrides that can make text read backwards.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_TTY_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe(text: str | None, limit: int = 80) -> str:
    """User text fit for a rich table: escapes and controls gone, cut at `limit`, markup
    escaped. Whitespace controls become spaces, so a 10 kB question stays one short line."""
    if text is None:
        return ""
    text = _CONTROLS.sub("", " ".join(_ANSI.sub("", text).split()))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text)


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, emoji=False, highlight=False)


def _fail(message: str) -> typer.Exit:
    print_error(message[:500])
    return typer.Exit(1)


@contextmanager
def _opened(data_dir: Path | None) -> Iterator[SqlQueryLog]:
    """The query log in --data-dir or the settings' folder (or the shared database of
    NEWSBOT_DATABASE_URL); NewsbotErrors become a message and exit 1."""
    settings = load_settings(data_dir=data_dir)
    path = settings.querylog_path
    try:
        if settings.database_url:
            with open_query_log(settings) as shared:
                yield shared
            return
        if not path.is_file():
            raise NotFound(f"no query log at {path} (the bot creates it on the first question)")
        with SqliteQueryLog(path, settings.log_retention_days) as store:
            yield store
    except NewsbotError as exc:
        raise _fail(exc.message) from None


def _json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def _csv(rows: list[LoggedQuery], output: Path | None = None) -> None:
    if output is not None:
        with output.open("w", encoding="utf-8", newline="") as f:
            n = write_csv(f, rows)
        _wrote(n, output)
    else:
        buf = io.StringIO()
        write_csv(buf, rows)
        text = buf.getvalue()
        # click.echo would strip ANSI from pipes (changing the data) and keep it on terminals
        # (where it acts): do the opposite, exact for scripts and defanged on a terminal.
        sys.stdout.write(_TTY_UNSAFE.sub("\ufffd", text) if sys.stdout.isatty() else text)


def _wrote(n: int, output: Path) -> None:
    _console(stderr=True).print(f"Wrote {n} rows to {safe(str(output), 200)}")


def _when(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _user(q: LoggedQuery) -> str:
    r = q.record
    if r.user_id is None:
        return ""
    return f"{safe(r.user_name, 24)} ({r.user_id})" if r.user_name else str(r.user_id)


def _days(days: int) -> int | None:
    return days if days > 0 else None


@logs_app.command()
def recent(
    data_dir: DataOpt = None,
    guild: GuildOpt = None,
    user: Annotated[int | None, typer.Option(metavar="ID", help="Only this user's questions.")] = None,
    channel: Annotated[int | None, typer.Option(metavar="ID", help="Only this channel.")] = None,
    outcome: Annotated[Outcome | None, typer.Option(help="Only this outcome.")] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            metavar="TIME",
            help="Only questions asked at or after TIME, in UTC: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS "
            "or 'YYYY-MM-DD HH:MM:SS'.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many rows.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many newest rows.")] = 0,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """The latest questions, newest first."""
    if as_json and as_csv:
        raise _fail("choose one of --json and --csv")
    with _opened(data_dir) as store:
        rows = store.recent(
            guild, user_id=user, channel_id=channel, outcome=outcome, limit=limit, offset=offset, since=since
        )
    if as_json:
        _json([q.to_dict() for q in rows])
    elif as_csv:
        _csv(rows)
    else:
        _console().print(_recent_table(rows))


def _recent_table(rows: list[LoggedQuery]) -> Table:
    table = Table(
        "ID",
        "When (UTC)",
        "Guild",
        "User",
        "Outcome",
        "ms",
        "Question",
        "Top passage",
        title=f"{len(rows)} questions",
    )
    for q in rows:
        r = q.record
        top = r.shown[0].title if r.shown else None
        table.add_row(
            str(q.id),
            _when(r.created_at),
            str(r.guild_id or ""),
            _user(q),
            r.outcome,
            f"{r.latency_ms:.0f}",
            safe(r.question, 60),
            safe(top, 40),
        )
    return table


@logs_app.command()
def show(
    row_id: Annotated[int, typer.Argument(metavar="ID", help="The row id.")],
    data_dir: DataOpt = None,
    guild: GuildOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One question in full: who asked, what was shown, votes and flags."""
    with _opened(data_dir) as store:
        q = store.get(guild, row_id)
    if as_json:
        _json(q.to_dict())
    else:
        _print_query(q)


def _print_query(q: LoggedQuery) -> None:
    r = q.record
    info = Table(show_header=False, title=f"Query {q.id}")
    info.add_column(style="bold")
    info.add_column()
    for label, value in (
        ("When (UTC)", _when(r.created_at)),
        ("Interface", r.interface),
        ("Outcome", r.outcome),
        ("Guild", str(r.guild_id or "")),
        ("Channel", str(r.channel_id or "")),
        ("User", _user(q)),
        ("Latency", f"{r.latency_ms:.1f} ms"),
        ("Index", safe(r.index_version)),
        ("Message", str(r.message_id or "")),
        ("Filters", safe(", ".join(f"{k}={v}" for k, v in sorted(r.filters.items())))),
        ("Error", safe(r.error, 200)),
        ("Votes", f"+{q.votes.up} / -{q.votes.down}"),
        ("Question", safe(r.question, 2000)),
    ):
        info.add_row(label, value)
    console = _console()
    console.print(info)
    if r.shown:
        shown = Table("#", "Score", "Article", "Passage", "Title", title="Shown")
        for rank, s in enumerate(r.shown, 1):
            shown.add_row(
                str(rank), f"{s.score:.2f}", safe(s.article_id, 30), str(s.passage_id), safe(s.title, 60)
            )
        console.print(shown)
    if q.flags:
        flags = Table("When (UTC)", "Moderator", "Reason", title="Flags")
        for f in q.flags:
            flags.add_row(_when(f.created_at), str(f.moderator_id), safe(f.reason, 200))
        console.print(flags)


@logs_app.command()
def unanswered(
    data_dir: DataOpt = None,
    guild: GuildOpt = None,
    days: Annotated[int, typer.Option(min=1, help="Look back this many days.")] = 7,
    limit: Annotated[int, typer.Option(min=1, help="How many groups.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Questions that found nothing, grouped, most asked first: what the corpus lacks."""
    with _opened(data_dir) as store:
        groups = store.unanswered(guild, days=days)[:limit]
    if as_json:
        _json([g.to_dict() for g in groups])
    else:
        _console().print(_groups_table(groups, f"Unanswered, last {days} days"))


def _groups_table(groups: list[QuestionGroup], title: str) -> Table:
    table = Table("Count", "Last asked (UTC)", "Question", title=title)
    for g in groups:
        table.add_row(str(g.count), _when(g.last_asked), safe(g.example))
    return table


@logs_app.command()
def stats(
    data_dir: DataOpt = None,
    guild: GuildOpt = None,
    days: Annotated[int, typer.Option(help="Look back this many days (0: all time).")] = 7,
    as_json: JsonOpt = False,
) -> None:
    """Volume, answer rate, latency and feedback."""
    with _opened(data_dir) as store:
        s = store.stats(guild, days=_days(days))
    if as_json:
        _json(s.to_dict())
    else:
        _print_stats(s, "All time" if days <= 0 else f"Last {days} days")


def _print_stats(s: LogStats, title: str) -> None:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} ms"

    table = Table("Metric", "Value", title=title)
    for label, value in (
        ("Questions", str(s.total)),
        ("Answered", f"{s.answered} ({s.answered_rate:.0%})"),
        ("No match", f"{s.no_match} ({s.no_match_rate:.0%})"),
        *(
            (f"  {escape(k)}", str(n))
            for k, n in sorted(s.by_outcome.items())
            if k not in (Outcome.ANSWERED, Outcome.NO_MATCH)
        ),
        ("Latency p50", ms(s.latency_p50_ms)),
        ("Latency p95", ms(s.latency_p95_ms)),
        ("Votes", f"+{s.votes_up} / -{s.votes_down}"),
        ("Flagged", str(s.flagged)),
    ):
        table.add_row(label, value)
    console = _console()
    console.print(table)
    if s.top_questions:
        console.print(_groups_table(list(s.top_questions), "Top questions"))


@logs_app.command()
def export(
    data_dir: DataOpt = None,
    guild: GuildOpt = None,
    days: Annotated[int, typer.Option(help="Only the last this many days (0: all).")] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Write to this file, not stdout.")
    ] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Every row, oldest first, as CSV (the default) or JSON."""
    if as_json and as_csv:
        raise _fail("choose one of --json and --csv")
    with _opened(data_dir) as store:
        rows = store.export(guild, days=_days(days))
    if not as_json:
        _csv(rows, output)
    elif output is None:
        _json([q.to_dict() for q in rows])
    else:
        output.write_text(json.dumps([q.to_dict() for q in rows], indent=2) + "\n", encoding="utf-8")
        _wrote(len(rows), output)


@logs_app.command()
def forget(
    user_id: Annotated[int, typer.Argument(metavar="USER_ID", help="The Discord user id.")],
    data_dir: DataOpt = None,
    guild: GuildOpt = None,
    yes: Annotated[bool, flag("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a user's questions, with their votes and flags (a data-removal request)."""
    where = "every guild" if guild is None else f"guild {guild}"
    if not yes:
        typer.confirm(f"Delete every logged question of user {user_id} in {where}?", abort=True)
    with _opened(data_dir) as store:
        deleted = store.forget_user(guild, user_id)
    if as_json:
        _json({"user_id": user_id, "guild_id": guild, "deleted": deleted})
    else:
        _console().print(f"Deleted {deleted} questions of user {user_id} in {where}.")
