"""A batch's texts split into passages in compiled passes over their bytes, as `split_passages`
splits them, for an analysis worker.

Which texts have plain whitespace: `split_passages` normalises a text's whitespace only when it
needs it (runs of spaces, spaces at a line's ends, tabs, no-break spaces, ...), which it checks
with five scans of the text in Python (~65 us for an article of 9,000 characters).

The passages of most texts: one with plain whitespace and no line longer than a passage is cut
into whole lines, packed while they fit and joined by blank lines, which one pass over its bytes
does (`passages_of`); `split_passages` took ~60 us an article in Python, ~20% of a worker's
time. The others (sentences to find, whitespace to normalise) are left to it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from newsbot.index.kernels import _compiled as compiled


@compiled
def _odd_spacing(
    data: npt.NDArray[np.uint8], bounds: npt.NDArray[np.int64], odd: npt.NDArray[np.bool_]
) -> None:
    """odd[i]: text i (data[bounds[i]:bounds[i + 1]]) starts or ends with a space, has two in a
    row, a space next to a newline, or whitespace other than the space and the newline (every
    character `str.split` cuts at, in UTF-8)."""
    for i in range(len(bounds) - 1):
        first, end = bounds[i], bounds[i + 1]
        found = first < end and (data[first] == 32 or data[end - 1] == 32)
        before = 0
        for k in range(first, end):
            if found:
                break
            c = data[k]
            if c > 32 and c < 0xC2:  # most: a letter, a digit, punctuation
                before = c
                continue
            if c == 32:
                found = before == 32 or before == 10
            elif c == 10:
                found = before == 32
            elif c < 32:
                found = c == 9 or c == 11 or c == 12 or c == 13 or c >= 28
            elif c == 0xC2 and k + 1 < end:
                found = data[k + 1] == 0x85 or data[k + 1] == 0xA0
            elif c >= 0xE1 and c <= 0xE3 and k + 2 < end:
                b, t = data[k + 1], data[k + 2]
                found = (
                    (c == 0xE1 and b == 0x9A and t == 0x80)
                    or (c == 0xE2 and b == 0x80 and (t <= 0x8A or t == 0xA8 or t == 0xA9 or t == 0xAF))
                    or (c == 0xE2 and b == 0x81 and t == 0x9F)
                    or (c == 0xE3 and b == 0x80 and t == 0x80)
                )
            before = c
        odd[i] = found


@compiled
def _packed_lines(
    data: npt.NDArray[np.uint8],
    bounds: npt.NDArray[np.int64],
    odd: npt.NDArray[np.bool_],
    target: int,
    out: npt.NDArray[np.uint8],
    ends: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
) -> int:
    """The passages of each text i without odd spacing (data[bounds[i]:bounds[i + 1]]) whose
    lines (its non-empty runs between newlines) hold at most `target` words (spaces + 1) each:
    whole lines, a passage closed before a line that would take it past `target` words, its
    lines joined by two newlines; written one after the other into `out`, each one ending at
    ends[n]; counts[i] of them (-1: a text left to `split_passages`). Returns how many."""
    n = 0
    at = 0
    for i in range(len(bounds) - 1):
        counts[i] = -1
        if odd[i]:
            continue
        first_n, first_at = n, at
        words = 0  # in the passage being written
        start, end = bounds[i], bounds[i + 1]
        fits = True
        while start < end:
            stop = start
            spaces = 0
            while stop < end and data[stop] != 10:
                spaces += data[stop] == 32
                stop += 1
            if stop > start:
                line = spaces + 1
                if line > target:
                    fits = False
                    break
                if words and words + line > target:
                    ends[n] = at
                    n += 1
                    words = 0
                if words:
                    out[at] = 10
                    out[at + 1] = 10
                    at += 2
                out[at : at + stop - start] = data[start:stop]
                at += stop - start
                words += line
            start = stop + 1
        if not fits:
            n, at = first_n, first_at
            continue
        if words:
            ends[n] = at
            n += 1
        counts[i] = n - first_n
    return n


def passages_of(texts: list[bytes], target: int) -> tuple[list[list[bytes] | None], list[bool]]:
    """For each text (UTF-8), its passages as `split_passages(text, target)` makes them (UTF-8),
    or None when that is left to it; and whether its whitespace is plain (`split_passages` is
    told it)."""
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=bounds[1:])
    data = np.frombuffer(b"".join(texts), dtype=np.uint8)
    odd = np.zeros(len(texts), dtype=np.bool_)
    _odd_spacing(data, bounds, odd)
    # Two newlines at most for each one (a line's own): the passages never need more room.
    out = np.empty(2 * len(data) + 1, dtype=np.uint8)
    ends = np.empty(len(data) // 2 + len(texts) + 1, dtype=np.int64)
    counts = np.empty(len(texts), dtype=np.int64)
    n = _packed_lines(data, bounds, odd, target, out, ends, counts)
    written = out[: int(ends[n - 1]) if n else 0].tobytes()
    cuts = [0, *ends[:n].tolist()]
    packed: list[list[bytes] | None] = []
    at = 0
    for count in counts.tolist():
        if count < 0:
            packed.append(None)
            continue
        packed.append([written[cuts[k] : cuts[k + 1]] for k in range(at, at + count)])
        at += count
    return packed, (~odd).tolist()


def load() -> None:
    """Load the compiled code (see `chunktable.load`)."""
    passages_of([b"a"], 1)
