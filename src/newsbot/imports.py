"""Importing libraries that pull in scipy for something newsbot never uses.

nltk's package imports its collocation measures, which import scipy.stats; numba checks scipy's
version and imports scipy.linalg's BLAS for the linear algebra of compiled code. Where scipy is
installed (it is not a dependency of newsbot) that costs a process 0.15-0.55 s and 15-64 MB.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_scipy() -> Iterator[None]:
    """Imports inside see no scipy (`import scipy` raises ImportError; nltk and numba then keep
    their fallbacks), unless it is imported already. Later imports of scipy are unaffected; one by
    another thread meanwhile would fail (newsbot's code imports none)."""
    if "scipy" in sys.modules:
        yield
        return
    sys.modules["scipy"] = None  # type: ignore[assignment]  # (import then raises ImportError)
    try:
        yield
    finally:
        del sys.modules["scipy"]
