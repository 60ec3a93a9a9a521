"""newsbot: answers questions over a news corpus by quoting the news itself."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The number lives in pyproject.toml only; this reads it from the installed metadata.
    __version__ = version("newsbot")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
