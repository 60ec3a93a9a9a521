"""Time in the question: "yesterday", "last week", "this year", "in March 2023", "2022" narrow the
dates searched, counted back from the day the question is asked.

Only a period that has begun by that day counts ("the 2026 World Cup" asked in 2022 names an
event, not the news wanted); the user's own since/until filters narrow further, and win when the
two do not overlap.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta

from newsbot.records import Filters

ENABLED = True  # off: questions' own dates are ignored (an experiment switch for `newsbot eval`)
# News about a period is often reported after it ("the 2020 election" in a 2021 article): the
# question's dates set only the earliest news searched. Measured in docs/quality.md.
SINCE_ONLY = True
_MONTHS = [
    *("january", "february", "march", "april", "may", "june"),
    *("july", "august", "september", "october", "november", "december"),
]
# Only "in/during/since <month> [year]" and "in <year>": a bare "2020 election" names an event.
_MONTH = re.compile(
    rf"\b(?:in|during|since|throughout)\s+(?:early\s+|late\s+|mid-?)?({'|'.join(_MONTHS)})(?:,?\s+(\d{{4}}))?\b",
    re.IGNORECASE,
)
_YEAR = re.compile(
    r"\b(?:in|during|since|throughout)\s+(?:early\s+|late\s+|mid-?)?(19[5-9]\d|20\d\d)\b(?![\d,.%-]\d)"
)
_RELATIVE = re.compile(
    r"\b(yesterday|today|tonight|this (?:week|month|year)|last (?:week|month|year)|"
    r"past (?:week|month|year)|(?:in|over) the (?:past|last) (?:week|month|year))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Period:
    """A range of days the question is about, and how to say it."""

    since: date
    until: date
    name: str  # "2022", "yesterday", "the past week"
    open_ended: bool = False  # only `since` narrows (SINCE_ONLY, a period that ended before today)

    @property
    def label(self) -> str:
        """How the answer says which news it searched: "news since 2022", f"this year"."""
        return f"news {'since' if self.open_ended else 'from'} {self.name}"


def period_in(question: str, today: date) -> Period | None:
    """The first time expression of the question that names a period begun by `today`."""
    found = _relative(question, today) or _month(question, today) or _year(question, today)
    if found is None or found.since > today:
        return None
    if SINCE_ONLY and found.until < today:
        return Period(found.since, today, found.name, open_ended=True)
    return found


def narrowed(filters: Filters, period: Period | None) -> Filters | None:
    """`filters` within `period`; None when there is no period or it lies outside the user's own
    dates (which then win)."""
    if period is None:
        return None
    since = max(d for d in (filters.since, period.since) if d is not None)
    until = min(d for d in (filters.until, period.until) if d is not None)
    if since > until:
        return None
    return Filters(since=since, until=until, source=filters.source)


def _relative(question: str, today: date) -> Period | None:
    match = _RELATIVE.search(question)
    if match is None:
        return None
    words = " ".join(match.group(1).lower().split())
    if words == "yesterday":
        day = today - timedelta(days=1)
        return Period(day, day, "yesterday")
    if words in ("today", "tonight"):
        return Period(today, today, "today")
    unit = words.rsplit(" ", 1)[-1]
    if words == "this week":  # measured: narrowing hides last weekend's news; recency covers it
        return None
    if words.startswith("this"):
        start = {
            "month": today.replace(day=1),
            "year": today.replace(month=1, day=1),
        }[unit]
        return Period(start, today, f"this {unit}")
    if words.startswith("last ") and unit != "week":  # the calendar month or year before
        if unit == "month":
            end = today.replace(day=1) - timedelta(days=1)
            return Period(end.replace(day=1), end, "last month")
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), "last year")
    days = {"week": 7, "month": 31, "year": 365}[unit]  # last week, the past week/month/year
    return Period(today - timedelta(days=days), today, f"the past {unit}")


def _month(question: str, today: date) -> Period | None:
    for match in _MONTH.finditer(question):
        name, year = match.group(1).lower(), match.group(2)
        month = _MONTHS.index(name) + 1
        latest = today.year if month <= today.month else today.year - 1  # begun by today
        y = int(year) if year else latest
        start = date(y, month, 1)
        end = date(y, month, monthrange(y, month)[1])
        return Period(start, min(end, today), f"{start:%B %Y}")
    return None


def _year(question: str, today: date) -> Period | None:
    for match in _YEAR.finditer(question):
        y = int(match.group(1))
        if y <= today.year:
            return Period(date(y, 1, 1), min(date(y, 12, 31), today), f"{y}")
    return None


def search_filters(question: str, filters: Filters, today: date) -> tuple[Filters, Period | None]:
    """The filters to search with, and the period the question named when it narrowed them."""
    period = period_in(question, today) if ENABLED else None
    searched = narrowed(filters, period)
    return (searched, period) if searched is not None else (filters, None)
