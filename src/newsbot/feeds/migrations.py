"""The feed store's schema, as append-only migrations (`newsbot.db.migrations`, as the query log's).

Never edit or reorder a migration that has shipped; add a new one.
"""

from __future__ import annotations

from newsbot.db.migrations import Schema, registry

MIGRATIONS, migration = registry()


@migration
def m001_feeds(db: Schema) -> None:
    # Times are ISO 8601 UTC text; owner_guild_id NULL means the operator's feed (answerable everywhere).
    db.execute("""
        CREATE TABLE feeds (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL,
            name TEXT NOT NULL,
            slug TEXT NOT NULL UNIQUE,
            owner_guild_id INTEGER,
            every_seconds INTEGER NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            disabled_reason TEXT,
            title TEXT NOT NULL DEFAULT '',
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,
            ttl_seconds INTEGER,
            last_poll_at TEXT,
            last_result TEXT,
            last_ok_at TEXT,
            last_unconditional_at TEXT,
            next_poll_at TEXT NOT NULL,
            errors INTEGER NOT NULL DEFAULT 0,
            first_error_at TEXT,
            created_at TEXT NOT NULL
        )""")
    db.execute("CREATE UNIQUE INDEX feeds_url_owner ON feeds (url, COALESCE(owner_guild_id, 0))")
    db.execute("CREATE INDEX feeds_due ON feeds (enabled, next_poll_at)")
    # One row per item a feed has carried. `path` is the corpus file holding its text; an item
    # folded into another copy has `duplicate_of` (that copy's path) and `how` instead.
    db.execute("""
        CREATE TABLE items (
            feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            url TEXT,
            title TEXT NOT NULL,
            item_hash TEXT NOT NULL,
            path TEXT,
            duplicate_of TEXT,
            how TEXT,
            from_summary INTEGER NOT NULL DEFAULT 0,
            published TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (feed_id, key)
        )""")
    db.execute("CREATE INDEX items_duplicate ON items (duplicate_of) WHERE duplicate_of IS NOT NULL")
    # One row per article file written under the corpus: what duplicates are checked against.
    db.execute("""
        CREATE TABLE texts (
            path TEXT PRIMARY KEY,
            url TEXT UNIQUE,
            text_hash TEXT NOT NULL,
            shingles BLOB NOT NULL,
            published TEXT,
            created_at TEXT NOT NULL
        )""")


@migration
def m002_failure_notice(db: Schema) -> None:
    # The failure streak (its first_error_at) moderators were told about: one notice per streak.
    db.execute("ALTER TABLE feeds ADD COLUMN noticed_error_at TEXT")
