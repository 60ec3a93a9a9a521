"""Settings, read once from the environment and an optional `.env` file, then passed in.

Nothing here runs at import time, so tests build `Settings(...)` directly and need no token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from dotenv import dotenv_values

from newsbot.errors import ConfigError

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
    "feeds_allow_private": "NEWSBOT_FEEDS_ALLOW_PRIVATE",
}


@dataclass(frozen=True)
class Settings:
    """Every setting newsbot reads; field names match `.env.example`."""

    discord_token: str | None = None
    corpus_dir: Path = Path("corpus")
    data_dir: Path = Path(".newsbot")
    admin_role_ids: frozenset[int] = frozenset()
    mod_role_ids: frozenset[int] = frozenset()
    cooldown_seconds: float = 5.0
    dev_guild_id: int | None = None
    mod_channel_id: int | None = None
    log_retention_days: int = 90
    max_upload_bytes: int = 5_000_000
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    log_level: str = "INFO"
    feeds_allow_private: bool = False  # fetch feeds from loopback/private addresses (operator, tests)

    @classmethod
    def load(
        cls,
        env_file: str | Path | None = ".env",
        environ: Mapping[str, str] | None = None,
        **overrides: object,
    ) -> Settings:
        """Read the settings: the process environment wins over the `.env` file."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            raw = values.get(ENV_NAMES[f.name], "").strip()
            if raw:
                kwargs[f.name] = _parse(f.name, raw)
        kwargs.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**kwargs)  # type: ignore[arg-type]

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def querylog_path(self) -> Path:
        return self.data_dir / "querylog.sqlite3"


def _parse(name: str, raw: str) -> object:
    env = ENV_NAMES[name]
    try:
        if name in ("corpus_dir", "data_dir"):
            return Path(raw).expanduser()
        if name in ("admin_role_ids", "mod_role_ids"):
            return frozenset(int(p) for p in raw.replace(";", ",").split(",") if p.strip())
        if name in ("dev_guild_id", "mod_channel_id"):
            return int(raw)
        if name in ("log_retention_days", "max_upload_bytes"):
            value = int(raw)
            if value < 0:
                raise ValueError("must not be negative")
            return value
        if name == "cooldown_seconds":
            seconds = float(raw)
            if seconds < 0:
                raise ValueError("must not be negative")
            return seconds
        if name == "feeds_allow_private":
            return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}[
                raw.lower()
            ]
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"{env}={raw!r} is not valid: {exc}") from None
    return raw
