"""The `newsbot` command line: the same core as the bot, in a terminal."""

from __future__ import annotations

import dataclasses
import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from newsbot import __version__
from newsbot.answers import parse_filters
from newsbot.cli.common import (
    DATE_FORMATS,
    CorpusOpt,
    DataOpt,
    JsonOpt,
    flag,
    load_settings,
    print_error,
    progress_bar,
)
from newsbot.cli.eval import eval_command
from newsbot.cli.feeds import feeds_app
from newsbot.cli.logs import logs_app
from newsbot.cli.render import render_answer, render_report, render_stats, to_json
from newsbot.cli.watches import watches_app
from newsbot.engine import Engine
from newsbot.errors import BadFilter, BadQuestion, IndexCorrupt, NewsbotError
from newsbot.index.verify import verify
from newsbot.querylog import Interface, Outcome, QueryLogError, QueryRecord, open_query_log
from newsbot.settings import Settings

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(logs_app, name="logs")
app.add_typer(watches_app, name="watches")
app.add_typer(feeds_app, name="feeds")
app.command("eval")(eval_command)
console = Console()
errors = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"newsbot {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        flag("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Answer questions over a news corpus by quoting the news.

    Settings come from .env and the environment (see .env.example); flags override them.
    """


def _engine(settings: Settings, corpus: Path | None = None) -> Engine:
    """The engine over the saved index; with `--corpus`, refused when the index holds another."""
    engine = Engine.open(settings, build_if_missing=False)
    if corpus is not None:
        engine.check_corpus(corpus)
    if engine._index is None:
        errors.print("[dim]No index yet: building it first…[/]")
        _index(engine, full=False)
    return engine


def _index(engine: Engine, full: bool, replace: bool = False) -> None:
    with progress_bar("reading") as progress:
        report = engine.reindex(full=full, progress=progress, replace=replace, here=True)
    render_report(errors, report)


@app.command()
def index(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="FILE",
            help="Only these corpus files (new, rewritten or deleted): the rest of the corpus is "
            "not looked at, so a script that knows what it changed pays for that alone.",
        ),
    ] = None,
    corpus: CorpusOpt = None,
    data_dir: DataOpt = None,
    full: Annotated[bool, flag("--full", help="Re-analyse every article.")] = False,
    replace: Annotated[
        bool, flag("--replace", help="Allow indexing another corpus, or a build removing most articles.")
    ] = False,
    verify_queries: Annotated[
        int,
        typer.Option(
            "--verify",
            metavar="N",
            min=0,
            help="Then check every file's checksum, and compare N sampled queries' top 10 with "
            "rank-bm25's BM25Okapi (exit 1 if anything differs).",
        ),
    ] = 0,
) -> None:
    """Build or update the index of the corpus (by default the one the index already holds)."""
    settings = load_settings(corpus, data_dir)
    engine = Engine.open(settings, build_if_missing=False)
    if corpus is None and engine.indexed_corpus is not None:  # a plain `newsbot index`
        engine = Engine(dataclasses.replace(settings, corpus_dir=engine.indexed_corpus), engine._index)
    if files and (full or replace):
        raise typer.BadParameter(
            "FILE... updates those files only: it cannot be combined with --full or --replace."
        )
    if files:
        with progress_bar("reading") as progress:
            render_report(errors, engine.add(files, progress=progress))
    else:
        _index(engine, full, replace)
    if verify_queries:
        try:
            engine.index.verify_files()
        except IndexCorrupt as e:
            errors.print(f"[red]Damaged:[/] {escape(e.message)} (run `newsbot index --full` to rebuild)")
            raise typer.Exit(1) from None
        console.print("Every file matches the checksum recorded when it was written.")
        with progress_bar("re-analysing") as progress:
            parity = verify(engine.index, engine.analyzer, verify_queries, progress=progress)
        console.print(parity.summary())
        for mismatch in parity.mismatches:
            errors.print(f"[red]Differs:[/] {escape(mismatch)}")
        if not parity.ok:
            raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(metavar="QUESTION", help="Your question, in quotes.")],
    k: Annotated[int, typer.Option("-k", help="How many passages to show.", min=1, max=10)] = 3,
    since: Annotated[
        str | None,
        typer.Option(metavar="DATE", help=f"Only articles dated on or after DATE ({DATE_FORMATS})."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(metavar="DATE", help=f"Only articles dated on or before DATE ({DATE_FORMATS})."),
    ] = None,
    source: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only articles from this source.")
    ] = None,
    as_json: JsonOpt = False,
    corpus: CorpusOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Answer a question with cited passages from the corpus."""
    settings = load_settings(corpus, data_dir)
    engine = _engine(settings, corpus)
    try:
        result = engine.ask(question, k=k, filters=parse_filters(since, until, source))
    except (BadQuestion, BadFilter) as exc:
        _log(
            settings,
            QueryRecord(
                question,
                Interface.CLI,
                Outcome.REFUSED,
                user_name=_user(),
                error=exc.message,
                index_version=engine.version,
            ),
        )
        raise
    _log(settings, QueryRecord.from_answer(result, interface=Interface.CLI, user_name=_user()))
    if as_json:
        print(to_json(result))
    else:
        render_answer(console, result)


def _log(settings: Settings, record: QueryRecord) -> None:
    """Log a question; a log that cannot be written (a full disk) is a warning, not a lost answer."""
    try:
        with open_query_log(settings) as log:
            log.record(record)
    except QueryLogError as e:
        errors.print(f"[yellow]warning:[/] the question was not logged: {escape(e.message)}")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@app.command()
def stats(
    corpus: CorpusOpt = None,
    data_dir: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show what is indexed."""
    result = _engine(load_settings(corpus, data_dir), corpus).stats()
    if as_json:
        print(to_json(result))
    else:
        render_stats(console, result)


@app.command()
def run(corpus: CorpusOpt = None, data_dir: DataOpt = None) -> None:
    """Start the Discord bot (needs DISCORD_TOKEN in .env or the environment)."""
    from newsbot.bot.runner import run as run_bot

    run_bot(load_settings(corpus, data_dir))


@app.command()
def sync(corpus: CorpusOpt = None, data_dir: DataOpt = None) -> None:
    """Register the slash commands with Discord (to NEWSBOT_DEV_GUILD_ID when set)."""
    from newsbot.bot.runner import sync as sync_commands

    console.print(sync_commands(load_settings(corpus, data_dir)))


def main() -> None:
    """Entry point: domain errors become one clear line and exit code 1, not a traceback
    (a malformed setting: exit code 2, see `load_settings`)."""
    try:
        app()
    except NewsbotError as exc:
        print_error(exc.message)
        raise SystemExit(1) from None
