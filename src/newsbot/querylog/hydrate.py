"""The query log's rows read back as records: each query with its shown passages, votes and
flags, fetched a chunk of ids at a time (both backends' SQL)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from newsbot.db import Db, Row
from newsbot.querylog.records import Flag, LoggedQuery, QueryRecord, Shown, Votes

_CHUNK = 500  # ids per `IN (...)`, well under SQLite's variable limit


def votes_of(db: Db, ids: Sequence[int]) -> dict[int, Votes]:
    marks = ",".join("?" * len(ids))
    return {
        r["query_id"]: Votes(int(r["up"]), int(r["n"] - r["up"]))
        for r in db.execute(
            f"SELECT query_id, SUM(up) AS up, COUNT(*) AS n FROM votes WHERE query_id IN ({marks})"
            " GROUP BY query_id",
            ids,
        )
    }


def hydrate(db: Db, rows: Iterable[Row]) -> list[LoggedQuery]:
    """Rows of `queries` with their shown passages, votes and flags, in the given order."""
    rows = list(rows)
    shown: dict[int, list[Shown]] = {}
    flags: dict[int, list[Flag]] = {}
    votes: dict[int, Votes] = {}
    for start in range(0, len(rows), _CHUNK):
        ids = [r["id"] for r in rows[start : start + _CHUNK]]
        marks = ",".join("?" * len(ids))
        for s in db.execute(f"SELECT * FROM shown WHERE query_id IN ({marks}) ORDER BY query_id, rank", ids):
            shown.setdefault(s["query_id"], []).append(
                Shown(s["article_id"], s["passage_id"], s["title"], s["score"], s["second_passage_id"])
            )
        for f in db.execute(f"SELECT * FROM flags WHERE query_id IN ({marks}) ORDER BY id", ids):
            flags.setdefault(f["query_id"], []).append(
                Flag(f["moderator_id"], f["reason"], datetime.fromisoformat(f["created_at"]))
            )
        votes.update(votes_of(db, ids))
    return [
        LoggedQuery(
            id=r["id"],
            record=QueryRecord(
                question=r["question"],
                interface=r["interface"],
                outcome=r["outcome"],
                guild_id=r["guild_id"],
                channel_id=r["channel_id"],
                user_id=r["user_id"],
                user_name=r["user_name"],
                filters=json.loads(r["filters"]),
                shown=tuple(shown.get(r["id"], ())),
                latency_ms=r["latency_ms"],
                index_version=r["index_version"],
                error=r["error"],
                message_id=r["message_id"],
                created_at=datetime.fromisoformat(r["created_at"]),
            ),
            votes=votes.get(r["id"], Votes()),
            flags=tuple(flags.get(r["id"], ())),
        )
        for r in rows
    ]
