"""Turning user-typed filter text (CLI options, slash command options) into `Filters`."""

from __future__ import annotations

import calendar
import difflib
from collections.abc import Sequence
from datetime import date, datetime

from newsbot.errors import BadFilter
from newsbot.records import Filters


def parse_date(text: str, *, end: bool = False) -> date:
    """Read a date the way people type it: 2024-05-01, 2024-05, 2024, or an ISO timestamp.

    A year or a month means its whole span: its first day, or with `end` its last (so
    `until 2022` is through 2022-12-31 and `until 2022-10` through 2022-10-31).
    """
    raw = text.strip()
    try:
        if len(raw) == 4 and raw.isdigit():
            return date(int(raw), 12, 31) if end else date(int(raw), 1, 1)
        if len(raw) == 7 and raw[4] == "-":
            year, month = int(raw[:4]), int(raw[5:])
            return date(year, month, calendar.monthrange(year, month)[1] if end else 1)
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        message = f"“{raw[:40]}” is not a date I understand: use YYYY-MM-DD, e.g. 2024-05-01."
        raise BadFilter(message) from None


def parse_filters(since: str | None = None, until: str | None = None, source: str | None = None) -> Filters:
    """Build `Filters` from optional text, refusing an empty or reversed date range."""
    start = parse_date(since) if since and since.strip() else None
    end = parse_date(until, end=True) if until and until.strip() else None
    if start and end and start > end:
        raise BadFilter(f"The date range is reversed: {start.isoformat()} is after {end.isoformat()}.")
    name = source.strip() if source and source.strip() else None
    return Filters(since=start, until=end, source=name)


def source_key(name: str) -> str:
    """A source name without case, scheme, `www.` and a trailing slash: `https://www.CNN.com/`
    and `cnn.com` share one key."""
    key = name.strip().casefold()
    for prefix in ("https://", "http://", "www."):
        key = key.removeprefix(prefix)
    return key.rstrip("/")


def resolve_source(typed: str, sources: Sequence[str]) -> str:
    """The source name `typed` means: exact (any case), the same host (`cnn.com`), or a unique
    short form (`cnn` for `www.cnn.com`). Else BadFilter naming the closest sources."""
    wanted = typed.strip()
    for pick in (
        lambda s: s.casefold() == wanted.casefold(),
        lambda s: source_key(s) == source_key(wanted),
        lambda s: source_key(s).split(".")[0] == source_key(wanted),
    ):
        found = [s for s in sources if pick(s)]
        if len(found) == 1 or (found and pick(wanted)):  # exact, in some case: all are meant
            return found[0]
        if len(found) > 1:
            names = ", ".join(f"“{s}”" for s in found[:5])
            raise BadFilter(f"“{wanted[:60]}” could be several sources: {names}. Give the full name.")
    keys = {source_key(s): s for s in sources}
    close = [keys[k] for k in difflib.get_close_matches(source_key(wanted), list(keys), n=5, cutoff=0.5)]
    hint = f" The closest: {', '.join(f'“{s}”' for s in close)}." if close else ""
    raise BadFilter(f"No source is called “{wanted[:60]}”.{hint}")
