"""Watches: standing queries that tell a channel or a user when new articles match.

See `watchlist.Watches` for the entry point, `matcher.py` for how an article is scored.
"""

from newsbot.watches.digest import Digest
from newsbot.watches.matcher import THRESHOLD, ArticleTerms, IndexStatistics, Statistics
from newsbot.watches.records import BadWatch, Delivery, Match, Mode, Watch, parse_duration
from newsbot.watches.store import WatchStore, WatchStoreError, open_watch_store, watches_path
from newsbot.watches.stories import resemblance, same_story, sketch, story_key
from newsbot.watches.watchlist import HOURLY_CAP, MAX_AGE, CheckReport, Watches, visible

__all__ = [
    "HOURLY_CAP",
    "MAX_AGE",
    "THRESHOLD",
    "ArticleTerms",
    "BadWatch",
    "CheckReport",
    "Delivery",
    "Digest",
    "IndexStatistics",
    "Match",
    "Mode",
    "Statistics",
    "Watch",
    "WatchStore",
    "WatchStoreError",
    "Watches",
    "open_watch_store",
    "parse_duration",
    "resemblance",
    "same_story",
    "sketch",
    "story_key",
    "visible",
    "watches_path",
]
