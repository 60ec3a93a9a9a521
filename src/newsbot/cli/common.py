"""What every command shares: the flags that mean the same thing everywhere, and loading the
settings, which is also where logging is set up, so no command can skip either."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from newsbot.errors import ConfigError
from newsbot.logsetup import configure_logging
from newsbot.settings import Settings

# A malformed setting is a usage error, like a malformed flag (click exits 2 for those too).
EXIT_BAD_SETTING = 2

CorpusOpt = Annotated[
    Path | None,
    typer.Option("--corpus", metavar="PATH", help="Corpus folder or file (default: NEWSBOT_CORPUS_DIR)."),
]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        file_okay=False,
        help="Folder of the index and the query log (default: NEWSBOT_DATA_DIR).",
    ),
]


def flag(*names: str, help: str, **kw: Any) -> Any:
    """A boolean option shown in --help as a bare flag: no `--no-…` twin, and no `<bool>` after it
    (typer's rich help prints the type there, as if the flag took a value)."""
    return typer.Option(*names, help=help, metavar="", **kw)


JsonOpt = Annotated[bool, flag("--json", help="Print JSON, for scripts.")]

# What `newsbot.answers.filters.parse_date` reads.
DATE_FORMATS = "YYYY, YYYY-MM or YYYY-MM-DD; a year or a month means its first day"


def load_settings(corpus: Path | None = None, data_dir: Path | None = None) -> Settings:
    """The settings with the command's flags applied, and logging set up at their level.

    A malformed variable (`NEWSBOT_LOG_LEVEL=LOUD`) is one line on stderr and exit code 2.
    """
    try:
        settings = Settings.load(corpus_dir=corpus, data_dir=data_dir)
    except ConfigError as exc:
        print_error(exc.message)
        raise typer.Exit(EXIT_BAD_SETTING) from None
    configure_logging(settings.log_level)
    return settings


def print_error(message: str) -> None:
    """One `Error: …` line on stderr: what a user sees instead of a traceback. Not wrapped at the
    terminal's width; control characters (terminal escapes, newlines) that a path or a user's
    text might carry are shown as spaces."""
    text = "".join(c if c.isprintable() else " " for c in message)
    Console(stderr=True, highlight=False).print(f"[bold red]Error:[/] {escape(text)}", soft_wrap=True)


@contextmanager
def progress_bar(first: str = "starting") -> Iterator[Callable[[str, int, int], None]]:
    """A transient progress bar on stderr, and the function that moves it (stage, done, total).

    One Ctrl-C stops the work with one line. Python drops a KeyboardInterrupt that lands while
    a finalizer runs (a build makes many: files, maps, pools), so the interrupt is also noted,
    and the next move of the bar raises it again: a build always moves the bar ("saving") before
    it publishes, so a stopped build changes nothing.
    """
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar, _noted_interrupts() as hit:
        task = bar.add_task(first, total=1)

        def progress(stage: str, done: int, total: int) -> None:
            if hit:
                raise KeyboardInterrupt
            bar.update(task, description=stage, completed=done, total=max(total, 1))

        try:
            yield progress
        except KeyboardInterrupt:  # one Ctrl-C: one line; a build stopped midway changes nothing
            bar.stop()
            Console(stderr=True).print("Stopped: the index was not changed.")
            raise typer.Exit(130) from None


@contextmanager
def _noted_interrupts() -> Iterator[list[int]]:
    """SIGINT raises KeyboardInterrupt as usual and is also noted in the yielded list."""
    noted: list[int] = []
    main = threading.current_thread() is threading.main_thread()  # only there can it be handled
    if not main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield noted  # ignored (a background job) or handled by someone else: left as it is
        return

    def interrupted(signum: int, _frame: FrameType | None) -> None:
        noted.append(signum)
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGINT, interrupted)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, before)
