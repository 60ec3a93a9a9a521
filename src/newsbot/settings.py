"""Settings, read once from the environment and an optional `.env` file, then passed in.

Nothing here runs at import time, so tests build `Settings(...)` directly and need no token.
Each variable is parsed by its field's type annotation, so a new `int` setting is read as an int
(or refused with a line naming the variable), never passed on as a string.
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from dotenv import dotenv_values

from newsbot.errors import ConfigError

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# Setting field -> environment variable (the names in .env.example).
ENV_NAMES = {
    "discord_token": "DISCORD_TOKEN",
    "corpus_dir": "NEWSBOT_CORPUS_DIR",
    "data_dir": "NEWSBOT_DATA_DIR",
    "admin_role_ids": "NEWSBOT_ADMIN_ROLE_IDS",
    "mod_role_ids": "NEWSBOT_MOD_ROLE_IDS",
    "cooldown_seconds": "NEWSBOT_COOLDOWN_SECONDS",
    "dev_guild_id": "NEWSBOT_DEV_GUILD_ID",
    "mod_channel_id": "NEWSBOT_MOD_CHANNEL_ID",
    "log_retention_days": "NEWSBOT_LOG_RETENTION_DAYS",
    "max_upload_bytes": "NEWSBOT_MAX_UPLOAD_BYTES",
    "discord_api_base": "DISCORD_API_BASE",
    "discord_gateway_url": "DISCORD_GATEWAY_URL",
    "log_level": "NEWSBOT_LOG_LEVEL",
    "database_url": "NEWSBOT_DATABASE_URL",
    "home_guild_id": "NEWSBOT_HOME_GUILD_ID",
    "feeds_allow_private": "NEWSBOT_FEEDS_ALLOW_PRIVATE",
    "watch_role_ids": "NEWSBOT_WATCH_ROLE_IDS",
    "shard_count": "NEWSBOT_SHARD_COUNT",
    "shard_ids": "NEWSBOT_SHARD_IDS",
    "reindex_in_child": "NEWSBOT_REINDEX_IN_CHILD",
    "feeds_per_guild": "NEWSBOT_FEEDS_PER_GUILD",
}

# Field metadata: the value may not be below this (counts, sizes, durations).
NON_NEGATIVE = {"min": 0}


@dataclass(frozen=True)
class Settings:
    """Every setting newsbot reads; field names match `.env.example`."""

    # Kept out of repr (and so out of logs and tracebacks that print the settings).
    discord_token: str | None = field(default=None, repr=False)
    corpus_dir: Path = Path("corpus")
    data_dir: Path = Path(".newsbot")
    admin_role_ids: frozenset[int] = frozenset()
    mod_role_ids: frozenset[int] = frozenset()
    cooldown_seconds: float = field(default=5.0, metadata=NON_NEGATIVE)
    dev_guild_id: int | None = None
    mod_channel_id: int | None = None
    log_retention_days: int = field(default=90, metadata=NON_NEGATIVE)
    max_upload_bytes: int = field(default=5_000_000, metadata=NON_NEGATIVE)
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    log_level: LogLevel = "INFO"
    # May hold a password: kept out of repr too.
    database_url: str | None = field(default=None, repr=False)
    # The operator's own server: its admins manage the operator's corpus; other servers' admins
    # manage only what their own server added. Unset: no operator-admin commands at all.
    home_guild_id: int | None = None
    feeds_allow_private: bool = False  # fetch feeds from loopback/private addresses (operator, tests)
    # Roles whose members may point a watch at a channel (besides Manage Channels and admins).
    watch_role_ids: frozenset[int] = frozenset()
    # Discord's sharding: unset runs one unsharded connection; N splits the guilds into N shards
    # (0: as many as Discord recommends), of which this process serves `shard_ids` (empty: all).
    shard_count: int | None = field(default=None, metadata=NON_NEGATIVE)
    shard_ids: frozenset[int] = frozenset()
    # The bot's reindexes and feed rounds run in child processes at a lower priority, so their
    # memory goes back to the system and answers keep their speed meanwhile (tests turn it off).
    reindex_in_child: bool = True
    # Feeds one server may follow through /feeds add (0: none); the CLI is not limited.
    feeds_per_guild: int = field(default=20, metadata=NON_NEGATIVE)

    @classmethod
    def load(
        cls,
        env_file: str | Path | None = ".env",
        environ: Mapping[str, str] | None = None,
        **overrides: object,
    ) -> Settings:
        """Read the settings: the process environment wins over the `.env` file; an empty
        variable means the default; `overrides` that are not None (command-line flags) win."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        hints = get_type_hints(cls)
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            env = ENV_NAMES[f.name]
            raw = values.get(env, "").strip()
            if raw:
                kwargs[f.name] = read_value(env, raw, hints[f.name], f.metadata.get("min"))
        kwargs.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**kwargs)  # type: ignore[arg-type]

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def querylog_path(self) -> Path:
        return self.data_dir / "querylog.sqlite3"


def read_value(env: str, raw: str, hint: Any, minimum: float | None = None) -> object:
    """`raw` (non-empty) read as the type `hint`, or a ConfigError naming `env` and what it expects."""
    read, expected = parser(hint)
    try:
        value = read(raw)
    except ValueError:
        raise ConfigError(f"{env}={raw!r} is not valid: expected {expected}.") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{env}={raw!r} is not valid: it must not be below {minimum}.")
    return value


def parser(hint: Any) -> tuple[Callable[[str], Any], str]:
    """The function reading a variable of type `hint`, and what it expects, in words.

    A type without a parser is a programming error (TypeError), found by the first load.
    """
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        if len(present) == 1:  # `X | None`: empty means None, which load() handles
            return parser(present[0])
    elif origin is Literal:
        return _choice(args), "one of " + ", ".join(args)
    elif origin is frozenset and len(args) == 1:
        item, expected = parser(args[0])
        return _items(item), f"a comma-separated list, each {expected}"
    elif hint is bool:
        return _boolean, "true or false (also 1/0, yes/no, on/off)"
    elif hint is int:
        return int, "a whole number"
    elif hint is float:
        return float, "a number"
    elif hint is Path:
        return lambda raw: Path(raw).expanduser(), "a path"
    elif hint is str:
        return str, "text"
    raise TypeError(f"Settings has no parser for the type {hint!r}")


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _boolean(raw: str) -> bool:
    word = raw.lower()
    if word not in _TRUE | _FALSE:
        raise ValueError(raw)
    return word in _TRUE


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def read(raw: str) -> str:
        for choice in choices:  # case-insensitive: `info` is INFO
            if raw.casefold() == choice.casefold():
                return choice
        raise ValueError(raw)

    return read


def _items(item: Callable[[str], Any]) -> Callable[[str], frozenset[Any]]:
    def read(raw: str) -> frozenset[Any]:
        return frozenset(item(part.strip()) for part in re.split("[,;]", raw) if part.strip())

    return read
