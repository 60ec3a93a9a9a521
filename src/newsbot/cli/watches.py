"""`newsbot watches`: the operator's watches, checked against what the last reindexes brought in.

`check` compares the index with the articles it looked at before (the first check only takes
note of what is there) and prints the operator's new matches; guild watches are left for the bot
to deliver. `replay` and `bench` measure the matching on labelled real news (docs/quality.md).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from newsbot.answers.filters import parse_date
from newsbot.cli.common import DataOpt, JsonOpt, flag, load_settings
from newsbot.engine import Engine
from newsbot.errors import NewsbotError
from newsbot.index.store import Index
from newsbot.quality.watches import bench, replay
from newsbot.text.analyzer import default_analyzer
from newsbot.watches import THRESHOLD, Delivery, Match, Mode, Watch, Watches, parse_duration
from newsbot.watches.quote import quote

watches_app = typer.Typer(
    name="watches", help="Watches: be told when new articles match a query.", no_args_is_help=True
)
console = Console(highlight=False, emoji=False)


@contextmanager
def _watches(data_dir: Path | None) -> Iterator[Watches]:
    watches = Watches.open(load_settings(data_dir=data_dir))
    try:
        yield watches
    finally:
        watches.close()


def _row(watch: Watch) -> list[str]:
    state = "paused: " + watch.paused if watch.paused else ""
    if watch.muted_until is not None:
        state = state or f"muted until {watch.muted_until:%Y-%m-%d %H:%M}"
    return [
        str(watch.id),
        escape(watch.query),
        str(watch.mode),
        escape(watch.source or ""),
        "operator" if watch.guild_id is None else f"guild {watch.guild_id}, {watch.target}",
        f"{watch.created_at:%Y-%m-%d %H:%M}",
        escape(state),
    ]


@watches_app.command("add")
def add(
    query: Annotated[str, typer.Argument(help="What to watch for, in a few words.")],
    mode: Annotated[Mode, typer.Option(help="A post per article, or one digest a day.")] = Mode.INSTANT,
    source: Annotated[str | None, typer.Option(help="Only articles from this source.")] = None,
    data_dir: DataOpt = None,
) -> None:
    """Add an operator watch: it sees articles indexed from now on."""
    with _watches(data_dir) as watches:
        watch = watches.add(query, mode, source=source)
    console.print(f"Watch #{watch.id} added: {escape(watch.query)} ({watch.mode}).")


@watches_app.command("list")
def list_command(data_dir: DataOpt = None, as_json: JsonOpt = False) -> None:
    """List every watch (the operator's and the guilds')."""
    with _watches(data_dir) as watches:
        found = watches.list_watches()
    if as_json:
        print(json.dumps([dataclasses.asdict(w) for w in found], default=str, indent=2))
        return
    table = Table("id", "query", "mode", "source", "for", "created (UTC)", "state")
    for watch in found:
        table.add_row(*_row(watch))
    console.print(table if found else "No watches yet: add one with `newsbot watches add QUERY`.")


@watches_app.command("remove")
def remove(
    watch_id: Annotated[int, typer.Argument(help="The watch's id.")], data_dir: DataOpt = None
) -> None:
    """Remove a watch and its matches."""
    with _watches(data_dir) as watches:
        watch = watches.remove(None, watch_id)
    console.print(f"Watch #{watch.id} removed: {escape(watch.query)}.")


@watches_app.command("mute")
def mute(
    watch_id: Annotated[int, typer.Argument(help="The watch's id.")],
    duration: Annotated[
        str | None, typer.Option("--for", help="How long: 30m, 2h, 3d, 1w (default: until resumed).")
    ] = None,
    data_dir: DataOpt = None,
) -> None:
    """Hold a watch's matches for a while (stories seen meanwhile do not post later)."""
    with _watches(data_dir) as watches:
        watch = watches.mute(None, watch_id, parse_duration(duration) if duration else None)
    until = f"until {watch.muted_until:%Y-%m-%d %H:%M} UTC" if duration else "until resumed"
    console.print(f"Watch #{watch.id} muted {until}.")


@watches_app.command("resume")
def resume(
    watch_id: Annotated[int, typer.Argument(help="The watch's id.")], data_dir: DataOpt = None
) -> None:
    """Unmute or unpause a watch."""
    with _watches(data_dir) as watches:
        watch = watches.resume(None, watch_id)
    console.print(f"Watch #{watch.id} is running.")


@watches_app.command("check")
def check(
    reindex: Annotated[bool, flag("--reindex", help="Update the index first.")] = False,
    corpus: Annotated[Path | None, typer.Option("--corpus", help="Corpus folder or file.")] = None,
    data_dir: DataOpt = None,
) -> None:
    """Match the articles added or changed since the last check; print the operator's matches."""
    settings = load_settings(corpus, data_dir)
    if reindex:
        Engine.open(settings, build_if_missing=False).reindex(here=True)
    index = Index.load(settings.index_dir)
    if index is None:
        raise NewsbotError("There is no index yet: run `newsbot index` first.")
    with _watches(data_dir) as watches:
        report = watches.check(index)
        if report.backlog:
            console.print(f"First check: {report.looked_at:,} indexed articles taken as already seen.")
            return
        mine = [m for m in report.matches if m.watch.guild_id is None and m.delivery is Delivery.NOW]
        for match in mine:
            _print_match(match)
        watches.mark_delivered([m.id for m in mine])
        later = len(report.matches) - len(mine)
        console.print(
            f"{report.looked_at:,} new or changed articles, {len(report.matches)} matches"
            f" ({later} for digests, guilds or held)."
        )


def _print_match(match: Match) -> None:
    a = match.article
    head = f"[bold]#{match.watch.id} {escape(match.watch.query)}[/] ({match.strength:.2f}): {escape(a.title)}"
    meta = " · ".join(x for x in (a.source or "", a.date.isoformat() if a.date else "", a.url or "") if x)
    console.print(head)
    sentence = quote(match, default_analyzer())
    if sentence is not None:
        text, marked = sentence.text, ""
        at = 0
        for start, end in sentence.marks:
            marked += escape(text[at:start]) + "[bold]" + escape(text[start:end]) + "[/]"
            at = end
        console.print("  " + marked + escape(text[at:]))
    console.print(f"  [dim]{escape(meta)}[/]")


@watches_app.command("digest")
def digest(data_dir: DataOpt = None) -> None:
    """Print and clear the operator's digest (daily watches and what the hourly cap held back)."""
    with _watches(data_dir) as watches:
        for group in watches.digests():
            if group.watch.guild_id is not None:
                continue
            for match in group.matches:
                _print_match(match)
            if group.more:
                console.print(f"  … and {group.more} more for #{group.watch.id}")
            watches.mark_delivered(group.match_ids)


@watches_app.command("replay")
def replay_command(
    questions: Annotated[Path, typer.Argument(help="Questions .jsonl[.gz] (RealTime QA format).")],
    corpus: Annotated[Path, typer.Option("--corpus", help="Articles .jsonl[.gz] with dates.")],
    since: Annotated[str, typer.Option(help="Questions from this date.")] = "2022-01-01",
    until: Annotated[str, typer.Option(help="Questions (and articles) up to this date.")] = "2022-12-31",
    threshold: Annotated[float, typer.Option(help="The strength a match needs.")] = THRESHOLD,
    as_json: JsonOpt = False,
) -> None:
    """Replay dated news through watches made of labelled questions: precision and recall."""
    load_settings()  # logging; the replay reads only the files it is given
    report = replay(
        questions,
        corpus,
        default_analyzer(),
        since=parse_date(since),
        until=parse_date(until),
        threshold=threshold,
    )
    if as_json:
        print(json.dumps(dataclasses.asdict(report), indent=2))
        return
    console.print(
        f"{report.watches} watches ({report.pairs_in_reach} labelled articles in reach), "
        f"{report.articles_fed:,} articles fed in date order ({report.articles_matched_against:,} matched), "
        f"{report.seconds:.0f} s; match {report.match_ms_per_article:.2f} ms per article"
    )
    table = Table("threshold", "fired", "precision", "on topic", "recall", "fires/watch/day")
    for row in (*report.sweep, report.shipped):
        mark = " (shipped run)" if row is report.shipped else ""
        table.add_row(
            f"{row.threshold:.2f}{mark}",
            str(row.fired),
            f"{row.precision:.3f}",
            f"{row.on_topic_precision:.3f}",
            f"{row.recall:.3f}",
            f"{row.per_watch_day:.2f}",
        )
    console.print(table)
    console.print(
        "drift (median relative change over the replay): "
        f"raw BM25 {report.drift_raw:.4f}, strength {report.drift_strength:.4f}"
    )


@watches_app.command("bench")
def bench_command(
    questions: Annotated[Path, typer.Argument(help="Questions .jsonl[.gz]: their text become the watches.")],
    corpus: Annotated[Path, typer.Option("--corpus", help="Articles .jsonl[.gz]: the newest are matched.")],
    watches: Annotated[int, typer.Option(help="How many watches.")] = 1000,
    articles: Annotated[int, typer.Option(help="How many new articles.")] = 100,
) -> None:
    """Time `Watches.match` with many watches over a batch of new articles."""
    load_settings()  # logging; the benchmark reads only the files it is given
    report = bench(questions, corpus, default_analyzer(), watches=watches, articles=articles)
    console.print(
        f"{report.watches:,} watches x {report.articles} new articles: match {report.match_ms:.0f} ms "
        f"({report.match_ms_per_article:.2f} ms per article), analysis {report.analyse_ms:.0f} ms, "
        f"{report.matches} matches"
    )
