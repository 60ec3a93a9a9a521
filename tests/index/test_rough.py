"""Finding the passages over a bar, alone or shared with the search's second thread."""

from __future__ import annotations

import numpy as np
import pytest

from newsbot.index import rough


@pytest.mark.parametrize("shared", [False, True])
def test_over_finds_the_values_at_or_over_the_bar(monkeypatch: pytest.MonkeyPatch, shared: bool) -> None:
    if shared:  # every call split in two halves, whatever the machine
        monkeypatch.setattr(rough, "SHARED_VALUES", 0)
        monkeypatch.setattr(rough, "_cores", lambda: 2)
    values = np.random.default_rng(7).random(1001).astype(np.float32)
    values[[0, 500, 501, 1000]] = 0.9  # at the bar, on both sides of the halves' edge
    bar = np.float32(0.9)
    assert rough.over(values, bar).tolist() == np.flatnonzero(values >= bar).tolist()
    assert rough.over(values, bar, strict=True).tolist() == np.flatnonzero(values > bar).tolist()
    assert 500 in rough.over(values, bar) and 500 not in rough.over(values, bar, strict=True)
