"""The held-out questions: every HOLD_OUT-th one, which no tuning decision looks at.

Choices in docs/quality.md are made on the other questions and checked on these, and
`newsbot eval` reports both, so a change that only fits the tuning questions shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

HOLD_OUT = 5  # the 5th, 10th, ... question by its place in the file
T = TypeVar("T")


def is_held_out(position: int) -> bool:
    """Whether the question at `position` (0-based) is held out."""
    return position % HOLD_OUT == HOLD_OUT - 1


def held_out(items: Sequence[T]) -> list[T]:
    """The held-out items, in order."""
    return [x for n, x in enumerate(items) if is_held_out(n)]
