"""Importing libraries that pull in scipy for something newsbot never uses.

nltk's package imports its collocation measures, which import scipy.stats; numba checks scipy's
version and imports scipy.linalg's BLAS for the linear algebra of compiled code. Where scipy is
installed (it is not a dependency of newsbot) that costs a process 0.15-0.55 s and 15-64 MB.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_hiding = 0  # `without_scipy` blocks open that hide it (threads may overlap: the bot stems in
# feed threads while its first search loads numba)


@contextmanager
def without_scipy() -> Iterator[None]:
    """Imports inside see no scipy (`import scipy` raises ImportError; nltk and numba then keep
    their fallbacks), unless it is imported already. Later imports of scipy are unaffected; one by
    another thread meanwhile would fail (newsbot's code imports none). numba, imported so, does
    without BLAS for the whole process (`np.dot` and the like in compiled code: no kernel has
    any)."""
    global _hiding
    with _lock:
        hide = _hiding > 0 or "scipy" not in sys.modules
        if hide:
            _hiding += 1
            sys.modules["scipy"] = None  # type: ignore[assignment]  # (import then raises ImportError)
    try:
        yield
    finally:
        if hide:
            with _lock:
                _hiding -= 1
                if not _hiding and "scipy" in sys.modules and sys.modules["scipy"] is None:
                    del sys.modules["scipy"]
