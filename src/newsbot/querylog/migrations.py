"""The query log schema, as an append-only list of migrations (`newsbot.db.migrations`).

Never edit or reorder one that has shipped: a database out there already has it. Add a new one.
"""

from __future__ import annotations

from newsbot.db.migrations import Schema, registry

MIGRATIONS, migration = registry()


@migration
def m001_queries(db: Schema) -> None:
    # created_at is ISO 8601 UTC with microseconds: text order is time order.
    db.execute("""
        CREATE TABLE queries (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            question TEXT NOT NULL,
            interface TEXT NOT NULL,
            outcome TEXT NOT NULL,
            guild_id INTEGER,
            channel_id INTEGER,
            user_id INTEGER,
            user_name TEXT,
            filters TEXT NOT NULL DEFAULT '{}',
            latency_ms REAL NOT NULL DEFAULT 0,
            index_version TEXT,
            error TEXT
        )""")
    db.execute("CREATE INDEX queries_created ON queries (created_at)")
    db.execute("CREATE INDEX queries_guild_created ON queries (guild_id, created_at)")
    db.execute("""
        CREATE TABLE shown (
            query_id INTEGER NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
            rank INTEGER NOT NULL,
            article_id TEXT NOT NULL,
            passage_id INTEGER NOT NULL,
            title TEXT NOT NULL,
            score REAL NOT NULL,
            PRIMARY KEY (query_id, rank)
        )""")


@migration
def m002_feedback(db: Schema) -> None:
    db.execute("ALTER TABLE queries ADD COLUMN message_id INTEGER")
    db.execute("CREATE INDEX queries_message ON queries (message_id) WHERE message_id IS NOT NULL")
    db.execute("CREATE INDEX queries_guild_user ON queries (guild_id, user_id)")
    db.execute("""
        CREATE TABLE votes (
            query_id INTEGER NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL,
            up INTEGER NOT NULL CHECK (up IN (0, 1)),
            voted_at TEXT NOT NULL,
            PRIMARY KEY (query_id, user_id)
        )""")
    db.execute("CREATE INDEX votes_user ON votes (user_id)")
    db.execute("""
        CREATE TABLE flags (
            id INTEGER PRIMARY KEY,
            query_id INTEGER NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
            moderator_id INTEGER NOT NULL,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX flags_query ON flags (query_id)")


@migration
def m003_second_passage(db: Schema) -> None:
    # A hit may quote a second passage of its article (`Hit.second`); older rows have none.
    db.execute("ALTER TABLE shown ADD COLUMN second_passage_id INTEGER")
