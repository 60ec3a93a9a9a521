"""Grouping matches for the daily digest: one entry per watch, its stories strongest first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from newsbot.watches.records import Match, Watch


@dataclass(frozen=True)
class Digest:
    """What one watch found since its last digest."""

    watch: Watch
    matches: tuple[Match, ...]  # the ones shown: strongest first, then newest article
    match_ids: tuple[int, ...]  # every match it covers (mark them delivered together)

    @property
    def more(self) -> int:
        """Matches covered but not shown."""
        return len(self.match_ids) - len(self.matches)


def group(matches: Iterable[Match], limit: int = 25) -> list[Digest]:
    """The matches by watch (watches in id order), at most `limit` stories each: a digest is a
    summary; the rest are covered by it (`more`) and marked delivered with it."""
    by_watch: dict[int, list[Match]] = {}
    watches: dict[int, Watch] = {}
    for m in matches:
        by_watch.setdefault(m.watch.id, []).append(m)
        watches[m.watch.id] = m.watch
    digests = []
    for watch_id in sorted(by_watch):
        found = sorted(
            by_watch[watch_id],
            key=lambda m: (-m.strength, -(m.article.date.toordinal() if m.article.date else 0), m.id),
        )
        digests.append(Digest(watches[watch_id], tuple(found[:limit]), tuple(m.id for m in found)))
    return digests
