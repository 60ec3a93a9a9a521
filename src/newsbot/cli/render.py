"""Rendering core records for the terminal (rich) and as JSON for scripts."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from newsbot.records import Answer, BuildReport, Hit, IndexStats, Snippet


def to_json(record: Any) -> str:
    """Any record as JSON: dates as ISO strings, tuples as lists."""

    def default(value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")

    return json.dumps(dataclasses.asdict(record), default=default, ensure_ascii=False, indent=2)


def highlighted(snippet: Snippet, style: str = "bold yellow") -> Text:
    text = Text(_printable(snippet.text))
    for start, end in snippet.marks:
        text.stylize(style, start, end)
    return text


def _printable(text: str | None) -> str:
    """Hide control characters (terminal escapes), bidi overrides and zero-width characters that
    a corpus, a question or a file name might carry."""
    return "".join(c if c.isprintable() or c in "\n\t" else " " for c in text or "")


def plain(text: str | None) -> str:
    """`_printable`, on one line, with rich markup escaped: for `console.print` of a string."""
    return escape(" ".join(_printable(text).split()))


def citation_line(hit: Hit) -> Text:
    c = hit.citation
    parts = [_printable(p) for p in (c.source, c.date.isoformat() if c.date else None) if p]
    line = Text(" · ".join(parts) + ("  " if parts else ""), style="dim")
    line.append(_printable(c.url or c.path or c.article_id), style="dim underline" if c.url else "dim")
    return line


def render_answer(console: Console, answer: Answer) -> None:
    if not answer.matched:
        console.print(Text("Nothing in the corpus matches that question well.", style="bold red"))
        if answer.hits:
            console.print("Closest articles:")
            for hit in answer.hits:
                console.print(Text("  • ") + Text(_printable(hit.citation.title), style="cyan"))
        _footer(console, answer)
        return
    if answer.best_sentence:
        console.print(
            Panel(
                highlighted(answer.best_sentence, "bold yellow"),
                title="Best answer",
                border_style="green",
                expand=False,
            )
        )
    for n, hit in enumerate(answer.hits, 1):
        title = Text(f"{n}. ", style="bold") + Text(_printable(hit.citation.title), style="bold cyan")
        url = hit.citation.url
        if url and url.isprintable() and " " not in url:
            title.stylize(f"link {url}")
        console.print(Group(title, citation_line(hit), *(highlighted(q) for q in hit.quotes)), "")
    _footer(console, answer)


def _footer(console: Console, answer: Answer) -> None:
    parts = [_printable(answer.period)] if answer.period else []  # the dates the question named
    parts += [f"{answer.took_ms:.1f} ms", f"index {_printable(answer.index_version)}"]
    console.print(Text(" · ".join(parts), style="dim"))


def render_report(console: Console, report: BuildReport) -> None:
    console.print(
        f"[bold green]Indexed[/] {report.articles:,} articles, {report.passages:,} passages "
        f"in {report.seconds:.1f} s — added {report.added:,}, updated {report.updated:,}, "
        f"removed {report.removed:,}, unchanged {report.unchanged:,}; version {plain(report.version)}"
    )
    if report.full_because:
        console.print(f"[yellow]Every article was analysed again:[/] {escape(report.full_because)}")
    skipped = [s for s in report.skipped if not s.repaired]
    repaired = [s for s in report.skipped if s.repaired]
    for label, items in (("Skipped", skipped), ("Repaired", repaired)):
        if items:
            console.print(f"[yellow]{label} {len(items):,}:[/]")
            for s in items[:20]:
                console.print(f"  {plain(s.where)}: {plain(s.reason)}")
            if len(items) > 20:
                console.print(f"  … and {len(items) - 20:,} more")


def render_stats(console: Console, stats: IndexStats) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("Corpus", plain(stats.corpus))
    table.add_row("Articles", f"{stats.articles:,}")
    table.add_row("Passages", f"{stats.passages:,}")
    span = "—"
    if stats.first_date and stats.last_date:
        span = f"{stats.first_date.isoformat()} … {stats.last_date.isoformat()}"
    table.add_row("Dates", span)
    sources = ", ".join(f"{plain(s)} ({n:,})" for s, n in stats.sources[:10]) or "—"
    if len(stats.sources) > 10:
        sources += f", … {len(stats.sources) - 10} more"
    table.add_row("Sources", sources)
    table.add_row("Version", plain(stats.version))
    table.add_row("Built", plain(stats.built_at))
    table.add_row("Size", f"{stats.size_bytes / 1e6:,.1f} MB")
    console.print(table)
