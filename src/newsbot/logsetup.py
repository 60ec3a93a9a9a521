"""The one logging set-up of every command (`newsbot ask`, `index`, `logs`, `eval`, `run`, `sync`).

Records go to stderr, one line each, at `Settings.log_level`; stdout stays for answers and the
JSON/CSV that scripts read. Called again (tests invoke many commands in one process), it replaces
its own handler instead of stacking a second one, and leaves other handlers (pytest's) alone.
"""

from __future__ import annotations

import logging
import sys

from newsbot.settings import LogLevel

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER = "newsbot"


def configure_logging(level: LogLevel) -> None:
    """Log records of `level` and above to the current stderr."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
