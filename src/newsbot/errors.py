"""Domain errors. Each carries a message fit to show a user as it is."""


class NewsbotError(Exception):
    """Base of every error whose message a user may see."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadQuestion(NewsbotError):
    """The question cannot be searched (empty, only stopwords, too long)."""


class BadFilter(NewsbotError):
    """A date or source filter cannot be understood."""


class IndexBusy(NewsbotError):
    """A reindex is already running."""


class NotFound(NewsbotError):
    """An article, log row or other named thing does not exist."""


class BadUpload(NewsbotError):
    """An uploaded article file was refused (size, type, content)."""


class ConfigError(NewsbotError):
    """A setting is missing or malformed."""


class IndexCorrupt(NewsbotError):
    """A saved index cannot be read: a file is missing, truncated or not what it should be.

    Raised instead of whatever numpy, json or the file system raised, naming the file; the
    engine then rebuilds the index from the corpus.
    """

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"The saved index is damaged: {path}: {problem}. It is rebuilt from the corpus.")
        self.path = str(path)
        self.problem = problem


class CorpusMismatch(NewsbotError):
    """The index holds another corpus, or a build would drop most of it: not replaced unasked."""
