"""Values worked out from one index and kept with it (see `Memo`)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

T = TypeVar("T")
_MISSING = object()


class Memo:
    """Values worked out from one index and kept with it, a few of each kind (e.g. the answers'
    recency prior: a bot asks with the same day all day long). Belongs to its index: two
    indexes never see each other's values, whatever their versions."""

    def __init__(self) -> None:
        self._kinds: dict[str, dict[Hashable, Any]] = {}

    def get(self, kind: str, key: Hashable, make: Callable[[], T], keep: int) -> T:
        """The value of `kind` for `key`, made by `make()` when not kept (at most `keep` are)."""
        values = self._kinds.get(kind)
        if values is None:
            values = self._kinds.setdefault(kind, {})
        found = values.get(key, _MISSING)
        if found is not _MISSING:
            return cast(T, found)
        value = make()
        if len(values) >= keep:
            values.clear()
        values[key] = value
        return value
