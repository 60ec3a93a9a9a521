"""The watches database schema: append-only migrations, applied when the store opens.

The same mechanism as the query log's (`newsbot.db.migrations`): never edit or
reorder a migration that has shipped; add a new one.
"""

from __future__ import annotations

import json

from newsbot.db.migrations import Schema, registry

MIGRATIONS, migration = registry()


@migration
def m001_watches(db: Schema) -> None:
    # Times are ISO 8601 UTC with microseconds: text order is time order.
    db.execute("""
        CREATE TABLE watches (
            id INTEGER PRIMARY KEY,
            query TEXT NOT NULL,
            mode TEXT NOT NULL,
            source TEXT,
            guild_id INTEGER,
            channel_id INTEGER,
            user_id INTEGER,
            created_at TEXT NOT NULL,
            muted_until TEXT,
            paused TEXT,
            paused_at TEXT
        )""")
    db.execute("CREATE INDEX watches_guild ON watches (guild_id)")
    # One row per watch and story: the article's id (updates) and its story key (copies).
    db.execute("""
        CREATE TABLE matches (
            id INTEGER PRIMARY KEY,
            watch_id INTEGER NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
            article_id TEXT NOT NULL,
            story TEXT NOT NULL,
            strength REAL NOT NULL,
            matched_at TEXT NOT NULL,
            delivery TEXT NOT NULL,
            delivered_at TEXT,
            failed TEXT,
            article TEXT NOT NULL,
            passage TEXT NOT NULL,
            terms TEXT NOT NULL,
            UNIQUE (watch_id, article_id)
        )""")
    db.execute("CREATE INDEX matches_story ON matches (watch_id, story)")
    db.execute("CREATE INDEX matches_watch_time ON matches (watch_id, matched_at)")
    db.execute("CREATE INDEX matches_pending ON matches (delivery) WHERE delivered_at IS NULL")
    # The articles `newsbot watches check` has already looked at (id -> content hash).
    db.execute("""
        CREATE TABLE seen (
            article_id TEXT PRIMARY KEY,
            content_hash TEXT NOT NULL,
            seen_at TEXT NOT NULL
        )""")


@migration
def m002_sketches(db: Schema) -> None:
    # The MinHash sketch of a matched article's text (space-separated hex), for near-duplicates.
    db.execute("ALTER TABLE matches ADD COLUMN sketch TEXT NOT NULL DEFAULT ''")


@migration
def m003_article_lines(db: Schema) -> None:
    # A match's article is kept as the index catalog's article line (`index.catalog`), one
    # encoding for both: older rows lack its two hashes, which they never had ("" when unknown).
    for row in db.execute("SELECT id, article FROM matches").fetchall():
        fields = json.loads(row["article"])
        if "hash" not in fields or "text_hash" not in fields:
            fields.setdefault("hash", "")
            fields.setdefault("text_hash", "")
            line = json.dumps(fields, ensure_ascii=False)
            db.execute("UPDATE matches SET article = ? WHERE id = ?", (line, row["id"]))
