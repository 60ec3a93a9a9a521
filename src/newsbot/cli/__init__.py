"""The `newsbot` command line: the same core as the bot, in a terminal."""

from __future__ import annotations

import getpass
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from newsbot.answers import parse_filters
from newsbot.cli.eval import eval_command
from newsbot.cli.feeds import feeds_app
from newsbot.cli.logs import logs_app
from newsbot.cli.render import render_answer, render_report, render_stats, to_json
from newsbot.engine import Engine
from newsbot.errors import BadFilter, BadQuestion, NewsbotError
from newsbot.querylog import Interface, Outcome, QueryRecord, SqliteQueryLog
from newsbot.settings import Settings

app = typer.Typer(
    help="Answer questions over a news corpus by quoting the news.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(logs_app, name="logs")
app.add_typer(feeds_app, name="feeds")
app.command("eval")(eval_command)
console = Console()
errors = Console(stderr=True)

CorpusOpt = Annotated[Path | None, typer.Option("--corpus", help="Corpus folder or file.")]
DataOpt = Annotated[Path | None, typer.Option("--data-dir", help="Index and log folder.")]


def _settings(corpus: Path | None = None, data_dir: Path | None = None) -> Settings:
    return Settings.load(corpus_dir=corpus, data_dir=data_dir)


def _engine(settings: Settings) -> Engine:
    engine = Engine.open(settings, build_if_missing=False)
    if engine._index is None:
        errors.print("[dim]No index yet: building it first…[/]")
        _index(engine, full=False)
    return engine


def _index(engine: Engine, full: bool) -> None:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=errors, transient=True) as bar:
        task = bar.add_task("reading", total=1)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=max(total, 1))

        report = engine.reindex(full=full, progress=progress)
    render_report(errors, report)


@app.command()
def index(
    corpus: CorpusOpt = None,
    data_dir: DataOpt = None,
    full: Annotated[bool, typer.Option(help="Re-analyse every article.")] = False,
) -> None:
    """Build or update the index of the corpus."""
    _index(Engine.open(_settings(corpus, data_dir), build_if_missing=False), full)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in quotes.")],
    k: Annotated[int, typer.Option("-k", help="How many passages to show.", min=1, max=10)] = 3,
    since: Annotated[str | None, typer.Option(help="Only articles from this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles up to this date.")] = None,
    source: Annotated[str | None, typer.Option(help="Only articles from this source.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer record as JSON.")] = False,
    corpus: CorpusOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Answer a question with cited passages from the corpus."""
    settings = _settings(corpus, data_dir)
    engine = _engine(settings)
    log = SqliteQueryLog(settings.querylog_path, settings.log_retention_days)
    try:
        try:
            result = engine.ask(question, k=k, filters=parse_filters(since, until, source))
        except (BadQuestion, BadFilter) as exc:
            log.record(
                QueryRecord(
                    question,
                    Interface.CLI,
                    Outcome.REFUSED,
                    user_name=_user(),
                    error=exc.message,
                    index_version=engine.version,
                )
            )
            raise
        log.record(QueryRecord.from_answer(result, interface=Interface.CLI, user_name=_user()))
    finally:
        log.close()
    if as_json:
        print(to_json(result))
    else:
        render_answer(console, result)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@app.command()
def stats(
    corpus: CorpusOpt = None,
    data_dir: DataOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show what is indexed."""
    result = _engine(_settings(corpus, data_dir)).stats()
    if as_json:
        print(to_json(result))
    else:
        render_stats(console, result)


@app.command()
def run(corpus: CorpusOpt = None, data_dir: DataOpt = None) -> None:
    """Start the Discord bot (needs DISCORD_TOKEN in .env or the environment)."""
    from newsbot.bot.runner import run as run_bot

    settings = _settings(corpus, data_dir)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run_bot(settings)


@app.command()
def sync(corpus: CorpusOpt = None, data_dir: DataOpt = None) -> None:
    """Register the slash commands with Discord (to NEWSBOT_DEV_GUILD_ID when set)."""
    from newsbot.bot.runner import sync as sync_commands

    console.print(sync_commands(_settings(corpus, data_dir)))


def main() -> None:
    """Entry point: domain errors become one clear line and exit code 1, not a traceback."""
    try:
        app()
    except NewsbotError as exc:
        errors.print(f"[bold red]Error:[/] {exc.message}")
        raise SystemExit(1) from None
