"""newsbot: answers questions over a news corpus by quoting the news itself."""

__version__ = "0.1.0"
