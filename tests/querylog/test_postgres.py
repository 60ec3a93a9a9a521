"""What only the PostgreSQL backend does: migrations under an advisory lock, erasing on forget,
errors that never show the password."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from newsbot.db.postgres import PostgresDatabase
from newsbot.db.sqlite import SqliteDatabase
from newsbot.querylog import MIGRATIONS, QueryLogError, QueryRecord, open_query_log
from newsbot.querylog.postgres import PostgresQueryLog
from newsbot.settings import Settings


def test_processes_opening_together_apply_each_migration_once(postgres_url: str) -> None:
    with ThreadPoolExecutor(6) as pool:
        logs = list(pool.map(lambda _: PostgresQueryLog(postgres_url), range(6)))
    for log in logs:
        log.close()
    with psycopg.connect(postgres_url) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name")]
    assert names == [m.name for m in MIGRATIONS]


def test_discord_ids_fit(postgres_url: str) -> None:
    big = 1_234_567_890_123_456_789  # snowflakes need 64 bits
    with PostgresQueryLog(postgres_url) as log:
        row = log.record(QueryRecord("q?", "slash", "answered", guild_id=big, user_id=big))
        assert log.get(big, row).record.user_id == big


def test_forget_leaves_no_bytes_in_the_table_files(postgres_url: str) -> None:
    secret = "where does zyxwvut-marker live?"
    with PostgresQueryLog(postgres_url) as log:
        for _ in range(50):
            log.record(QueryRecord(secret, "slash", "answered", guild_id=1, user_id=7))
        log.record(QueryRecord("keep me", "slash", "answered", guild_id=1, user_id=8))
        assert log.forget_user(1, 7) == 50
        with psycopg.connect(postgres_url) as conn:
            conn.execute("CHECKPOINT")
            data = Path(conn.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
            files = [
                data / conn.execute(f"SELECT pg_relation_filepath('{t}')").fetchone()[0]  # type: ignore[index]
                for t in ("queries", "shown")
            ]
        assert [q.record.question for q in log.recent(None)] == ["keep me"]
    for path in files:
        assert secret.encode() not in path.read_bytes()


def test_an_unreachable_server_is_one_clear_error_without_the_password() -> None:
    settings = Settings(database_url="postgresql://bot:hunter2@127.0.0.1:9/newsbot")
    with pytest.raises(QueryLogError) as info:
        PostgresQueryLog(settings.database_url or "", timeout=1)
    assert "127.0.0.1:9/newsbot" in info.value.message and "hunter2" not in info.value.message
    assert "hunter2" not in repr(settings)


def test_the_setting_picks_the_backend(postgres_url: str, tmp_path: Path) -> None:
    with open_query_log(Settings(data_dir=tmp_path, database_url=postgres_url)) as log:
        assert isinstance(log.database, PostgresDatabase)
    with open_query_log(Settings(data_dir=tmp_path)) as log:
        assert isinstance(log.database, SqliteDatabase)
        assert (tmp_path / "querylog.sqlite3").is_file()
