from pathlib import Path

import pytest

from newsbot.answers.filters import parse_filters
from newsbot.errors import BadFilter, ConfigError
from newsbot.settings import ENV_NAMES, Settings

ROOT = Path(__file__).resolve().parents[1]


def test_env_example_lists_every_setting() -> None:
    names = {
        line.split("=")[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert names == set(ENV_NAMES.values())


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


def test_bad_values_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="NEWSBOT_DEV_GUILD_ID='abc'"):
        Settings.load(None, environ={"NEWSBOT_DEV_GUILD_ID": "abc"})
    with pytest.raises(ConfigError, match="NEWSBOT_COOLDOWN_SECONDS"):
        Settings.load(None, environ={"NEWSBOT_COOLDOWN_SECONDS": "-1"})


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
