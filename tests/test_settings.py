from dataclasses import fields
from pathlib import Path
from typing import Literal, get_type_hints

import pytest

from newsbot.answers.filters import parse_filters
from newsbot.errors import BadFilter, ConfigError
from newsbot.settings import ENV_NAMES, Settings, parser, read_value

ROOT = Path(__file__).resolve().parents[1]


def example_names() -> list[str]:
    return [
        line.split("=")[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]


def test_env_example_lists_every_setting_once() -> None:
    names = example_names()
    assert len(names) == len(set(names))
    assert set(names) == set(ENV_NAMES.values())
    assert set(ENV_NAMES) == {f.name for f in fields(Settings)}


def test_env_example_shows_the_defaults() -> None:
    assert Settings.load(ROOT / ".env.example", environ={}) == Settings()


def test_load_env_file_and_environment_wins(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("DISCORD_TOKEN=abc\nNEWSBOT_ADMIN_ROLE_IDS=1, 2\nNEWSBOT_COOLDOWN_SECONDS=2.5\n")
    s = Settings.load(env, environ={"NEWSBOT_COOLDOWN_SECONDS": "7", "NEWSBOT_DEV_GUILD_ID": "42"})
    assert (s.discord_token, s.admin_role_ids, s.cooldown_seconds, s.dev_guild_id) == (
        "abc",
        frozenset({1, 2}),
        7.0,
        42,
    )
    assert Settings.load(None, environ={}) == Settings()


def test_every_field_is_read_as_its_annotated_type() -> None:
    environ = {
        "DISCORD_TOKEN": "tok",
        "NEWSBOT_CORPUS_DIR": "~/news",
        "NEWSBOT_DATA_DIR": "state",
        "NEWSBOT_ADMIN_ROLE_IDS": "1;2",
        "NEWSBOT_MOD_ROLE_IDS": "3",
        "NEWSBOT_COOLDOWN_SECONDS": "1",
        "NEWSBOT_DEV_GUILD_ID": "4",
        "NEWSBOT_MOD_CHANNEL_ID": "5",
        "NEWSBOT_LOG_RETENTION_DAYS": "6",
        "NEWSBOT_MAX_UPLOAD_BYTES": "7",
        "DISCORD_API_BASE": "http://127.0.0.1:1/api/v10",
        "DISCORD_GATEWAY_URL": "ws://127.0.0.1:2/",
        "NEWSBOT_LOG_LEVEL": "debug",
        "NEWSBOT_DATABASE_URL": "postgresql://bot@127.0.0.1:5432/news",
        "NEWSBOT_HOME_GUILD_ID": "8",
        "NEWSBOT_FEEDS_ALLOW_PRIVATE": "yes",
        "NEWSBOT_WATCH_ROLE_IDS": "9",
        "NEWSBOT_SHARD_COUNT": "4",
        "NEWSBOT_SHARD_IDS": "2,3",
        "NEWSBOT_REINDEX_IN_CHILD": "0",
        "NEWSBOT_FEEDS_PER_GUILD": "3",
    }
    assert set(environ) == set(ENV_NAMES.values())
    s = Settings.load(None, environ=environ)
    assert s == Settings(
        discord_token="tok",
        corpus_dir=Path.home() / "news",
        data_dir=Path("state"),
        admin_role_ids=frozenset({1, 2}),
        mod_role_ids=frozenset({3}),
        cooldown_seconds=1.0,
        dev_guild_id=4,
        mod_channel_id=5,
        log_retention_days=6,
        max_upload_bytes=7,
        discord_api_base="http://127.0.0.1:1/api/v10",
        discord_gateway_url="ws://127.0.0.1:2/",
        log_level="DEBUG",
        database_url="postgresql://bot@127.0.0.1:5432/news",
        home_guild_id=8,
        feeds_allow_private=True,
        watch_role_ids=frozenset({9}),
        shard_count=4,
        shard_ids=frozenset({2, 3}),
        reindex_in_child=False,
        feeds_per_guild=3,
    )
    # `==` alone would pass 1 == 1.0: the types must be the annotated ones too.
    assert type(s.cooldown_seconds) is float and type(s.log_retention_days) is int
    assert all(type(i) is int for i in s.admin_role_ids)


@pytest.mark.parametrize(
    ("hint", "raw", "value"),
    [
        (int, " 12", 12),
        (float, "0.5", 0.5),
        (bool, "Yes", True),
        (bool, "off", False),
        (Path, "a/b", Path("a/b")),
        (frozenset[int], "1, 2;3,", frozenset({1, 2, 3})),
        (str | None, "x", "x"),
        (int | None, "7", 7),
        (Literal["DEBUG", "INFO"], "info", "INFO"),
    ],
)
def test_the_parser_follows_the_type(hint: object, raw: str, value: object) -> None:
    got = read_value("X", raw.strip(), hint)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("hint", "raw", "expected"),
    [
        (int, "12.5", "a whole number"),
        (float, "fast", "a number"),
        (bool, "maybe", "true or false"),
        (frozenset[int], "1,x", "a comma-separated list, each a whole number"),
        (int | None, "abc", "a whole number"),
        (Literal["DEBUG", "INFO"], "LOUD", "one of DEBUG, INFO"),
    ],
)
def test_a_malformed_value_is_one_line_naming_the_variable(hint: object, raw: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        read_value("NEWSBOT_X", raw, hint)
    message = info.value.message
    assert message.startswith(f"NEWSBOT_X={raw!r} is not valid: ") and expected in message
    assert "\n" not in message


def test_bad_values_through_load_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="NEWSBOT_DEV_GUILD_ID='abc'"):
        Settings.load(None, environ={"NEWSBOT_DEV_GUILD_ID": "abc"})
    with pytest.raises(ConfigError, match=r"NEWSBOT_COOLDOWN_SECONDS='-1' .* must not be below 0"):
        Settings.load(None, environ={"NEWSBOT_COOLDOWN_SECONDS": "-1"})
    with pytest.raises(ConfigError, match="NEWSBOT_LOG_RETENTION_DAYS"):
        Settings.load(None, environ={"NEWSBOT_LOG_RETENTION_DAYS": "-5"})
    with pytest.raises(ConfigError, match=r"NEWSBOT_LOG_LEVEL='LOUD' .* one of DEBUG, INFO, WARNING"):
        Settings.load(None, environ={"NEWSBOT_LOG_LEVEL": "LOUD"})


def test_every_field_type_has_a_parser() -> None:
    for name, hint in get_type_hints(Settings).items():
        read, expected = parser(hint)
        assert callable(read) and expected, name


def test_a_type_without_a_parser_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="no parser"):
        parser(dict[str, int])


def test_the_token_is_hidden_from_repr() -> None:
    s = Settings(discord_token="s3cret-token", dev_guild_id=42)
    assert "s3cret-token" not in repr(s) and "s3cret-token" not in str(s)
    assert "dev_guild_id=42" in repr(s)
    assert s.discord_token == "s3cret-token"


def test_filters() -> None:
    f = parse_filters("2024", "2024-05", " Daily Ledger ")
    assert (f.since.isoformat(), f.until.isoformat(), f.source) == (  # type: ignore[union-attr]
        "2024-01-01",
        "2024-05-31",  # a month means all of it (issue 11, #17)
        "Daily Ledger",
    )
    assert not parse_filters(None, "", "  ").active
    with pytest.raises(BadFilter, match="reversed"):
        parse_filters("2024-02-01", "2024-01-01")
    with pytest.raises(BadFilter, match="not a date"):
        parse_filters("yesterday")
