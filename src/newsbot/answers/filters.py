"""Turning user-typed filter text (CLI options, slash command options) into `Filters`."""

from __future__ import annotations

from datetime import date, datetime

from newsbot.errors import BadFilter
from newsbot.records import Filters


def parse_date(text: str) -> date:
    """Read a date the way people type it: 2024-05-01, 2024-05, 2024, or an ISO timestamp."""
    raw = text.strip()
    try:
        if len(raw) == 4 and raw.isdigit():
            return date(int(raw), 1, 1)
        if len(raw) == 7 and raw[4] == "-":
            return date(int(raw[:4]), int(raw[5:]), 1)
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        message = f"“{raw[:40]}” is not a date I understand: use YYYY-MM-DD, e.g. 2024-05-01."
        raise BadFilter(message) from None


def parse_filters(since: str | None = None, until: str | None = None, source: str | None = None) -> Filters:
    """Build `Filters` from optional text, refusing an empty or reversed date range."""
    start = parse_date(since) if since and since.strip() else None
    end = parse_date(until) if until and until.strip() else None
    if start and end and start > end:
        raise BadFilter(f"The date range is reversed: {start.isoformat()} is after {end.isoformat()}.")
    name = source.strip() if source and source.strip() else None
    return Filters(since=start, until=end, source=name)
