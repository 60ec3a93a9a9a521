"""Which texts of a batch have plain whitespace, found in one compiled pass over their bytes.

`split_passages` normalises a text's whitespace only when it needs it (runs of spaces, spaces
at a line's ends, tabs, no-break spaces, ...), which it checks with five scans of the text in
Python: ~65 us for an article of 9,000 characters, half of its work on most articles. An
analysis worker asks here for the whole batch at once (~30 us an article, encoding included)
and tells it.
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


def plain_spacing(texts: list[str]) -> list[bool]:
    """For each text, whether its whitespace is already as `split_passages` normalises it."""
    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=bounds[1:])
    odd = np.zeros(len(texts), dtype=np.bool_)
    _odd_spacing(np.frombuffer(b"".join(encoded), dtype=np.uint8), bounds, odd)
    return (~odd).tolist()


def load() -> None:
    """Load the compiled code (see `chunktable.load`)."""
    plain_spacing(["a"])
