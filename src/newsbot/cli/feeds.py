"""`newsbot feeds`: follow RSS/Atom feeds from a shell (the operator's feeds: no owner guild)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from newsbot.cli.common import CorpusOpt, DataOpt, flag, load_settings
from newsbot.engine import Engine
from newsbot.feeds.fetch import Fetcher
from newsbot.feeds.ingest import Ingester, feed_folder
from newsbot.feeds.poller import subscribe
from newsbot.feeds.schedule import DEFAULT_EVERY, parse_every
from newsbot.feeds.store import FeedStore, open_feed_store
from newsbot.feeds.worker import RETRY, PollWorker, leader_text
from newsbot.leader import leadership
from newsbot.settings import Settings

feeds_app = typer.Typer(
    name="feeds", help="Follow RSS/Atom feeds into the corpus.", no_args_is_help=True, add_completion=False
)


def _console() -> Console:
    return Console(emoji=False, highlight=False)


def _with_store(corpus: Path | None, data_dir: Path | None) -> tuple[Settings, FeedStore]:
    settings = load_settings(corpus, data_dir)
    return settings, open_feed_store(settings)


@feeds_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="The feed's URL (http or https).")],
    every: Annotated[str, typer.Option(help="How often to poll: 30m, 2h, 1d (at least 10m).")] = "30m",
    name: Annotated[
        str | None, typer.Option(help="Shown as the articles' source (default: its title).")
    ] = None,
    corpus: CorpusOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Follow a feed: it is fetched and parsed once now to check it."""
    interval = parse_every(every) if every else DEFAULT_EVERY
    settings, store = _with_store(corpus, data_dir)
    try:

        async def go() -> str:
            async with Fetcher(allow_private=settings.feeds_allow_private) as fetcher:
                done = await subscribe(store, fetcher, url, name=name, every=interval)
            return f"Following “{escape(done.feed.name)}” (#{done.feed.id}, {done.items} items now)."

        _console().print(asyncio.run(go()))
    finally:
        store.close()


@feeds_app.command("list")
def list_feeds(corpus: CorpusOpt = None, data_dir: DataOpt = None) -> None:
    """The feeds followed."""
    _settings, store = _with_store(corpus, data_dir)
    try:
        table = Table("#", "name", "url", "every", "state", "next poll", "articles")
        for f in store.feeds():
            state = "on" if f.enabled else f"off: {f.disabled_reason or ''}"
            minutes = f"{f.every_seconds // 60}m"
            owner = "" if f.owner_guild_id is None else f" (guild {f.owner_guild_id})"
            table.add_row(
                str(f.id), escape(f.name + owner), escape(f.url), minutes, escape(state),
                _when(f.next_poll_at) if f.enabled else "", str(store.articles(f.id)),
            )  # fmt: skip
        _console().print(table if table.row_count else "No feeds yet: `newsbot feeds add URL`.")
    finally:
        store.close()


@feeds_app.command("remove")
def remove(
    feed: Annotated[str, typer.Argument(help="The feed's number, name or URL.")],
    corpus: CorpusOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Stop following a feed (its articles stay in the corpus under feeds/<name>/)."""
    _settings, store = _with_store(corpus, data_dir)
    try:
        gone = store.remove(store.find(feed).id)
        _console().print(
            f"Stopped following “{escape(gone.name)}”; its articles are in {feed_folder(gone)}/."
        )
    finally:
        store.close()


@feeds_app.command("status")
def status(
    feed: Annotated[str | None, typer.Argument(help="One feed (default: all).")] = None,
    corpus: CorpusOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Last poll, its result, next poll, articles and consecutive errors of each feed."""
    _settings, store = _with_store(corpus, data_dir)
    try:
        out = _console()
        for f in [store.find(feed)] if feed else store.feeds():
            out.print(f"[bold]#{f.id} {escape(f.name)}[/] {escape(f.url)}")
            out.print(f"  last poll: {_when(f.last_poll_at)}  result: {escape(f.last_result or '-')}")
            nxt = _when(f.next_poll_at) if f.enabled else f"disabled ({escape(f.disabled_reason or '')})"
            out.print(f"  next poll: {nxt}  articles: {store.articles(f.id)}  errors in a row: {f.errors}")
    finally:
        store.close()


@feeds_app.command("poll")
def poll(
    once: Annotated[bool, flag("--once", help="Poll what is due once, then stop.")] = False,
    every_feed: Annotated[bool, flag("--all", help="Poll every enabled feed now, then stop.")] = False,
    retry: Annotated[
        float,
        typer.Option(
            "--retry",
            metavar="SECONDS",
            min=0.1,
            help="While another process polls: seconds between two tries to take over.",
        ),
    ] = RETRY,
    corpus: CorpusOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Poll feeds on their schedule and index the articles they bring (Ctrl-C stops).

    One process at a time polls the feeds: the one leading the background work (`newsbot run` too).

    While another one leads, this names it, tries again every --retry seconds and takes over.

    With --once or --all, it names the leader and exits with status 0 without polling.
    """
    settings, store = _with_store(corpus, data_dir)
    engine = Engine.open(settings, build_if_missing=False)
    lead = leadership(settings)
    out = _console()

    def say(line: str) -> None:
        out.print(escape(line))

    async def go() -> None:
        async with Fetcher(allow_private=settings.feeds_allow_private) as fetcher:
            worker = PollWorker(store, fetcher, Ingester(store, settings.corpus_dir), engine, say)
            if not (once or every_feed):
                await worker.run(lead, retry=retry)
            elif not await asyncio.to_thread(lead.try_acquire):
                who = await asyncio.to_thread(leader_text, lead)
                say(f"Not polled: {who} leads the background work and polls the feeds.")
            elif not await worker.round(every_feed=every_feed):
                say("No feed is due.")

    try:
        _run(go)
    finally:
        lead.release()
        engine.close()
        store.close()


def _run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run the loop until done, Ctrl-C or SIGTERM (a service manager stopping the worker)."""

    async def stoppable() -> None:
        task = asyncio.current_task()
        assert task is not None
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await main()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(stoppable())


def _when(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else "-"
