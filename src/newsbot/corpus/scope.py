"""Who owns an article: the operator, or one Discord server (guild).

The operator's corpus is answerable everywhere; content a server added (uploads now, feeds later)
is answerable and removable in that server only. Ownership is carried by the article's path in
the corpus, so it needs no extra table and survives every reindex: a server's files live under
`guilds/<guild id>/`, everything else is the operator's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

GUILDS = "guilds"  # the corpus folder holding one folder per server that added content


@dataclass(frozen=True)
class Scope:
    """The owner of corpus content: `guild` None is the operator."""

    guild: int | None = None

    @classmethod
    def of_path(cls, path: str | None) -> Scope:
        """The owner of an article from its path relative to the corpus root."""
        parts = PurePosixPath(path or "").parts
        if len(parts) >= 3 and parts[0] == GUILDS and parts[1].isdigit():
            return cls(int(parts[1]))
        return cls()

    @property
    def operator(self) -> bool:
        return self.guild is None

    def folder(self, corpus: Path) -> Path:
        """Where this owner's files go under the corpus root."""
        return corpus if self.guild is None else corpus / GUILDS / str(self.guild)

    def owns(self, path: str | None) -> bool:
        return Scope.of_path(path) == self

    def sees(self, path: str | None) -> bool:
        """Whether content at `path` may be shown to this owner: the operator's, or its own."""
        owner = Scope.of_path(path)
        return owner.operator or owner == self
