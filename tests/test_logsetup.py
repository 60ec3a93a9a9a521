import logging
from collections.abc import Iterator

import pytest

from newsbot.logsetup import configure_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


def test_records_at_the_level_go_to_stderr_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING")
    configure_logging("WARNING")  # a second command in the same process: still one handler
    log = logging.getLogger("newsbot.test")
    log.info("too quiet")
    log.warning("disk %s", "nearly full")
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].endswith("WARNING newsbot.test: disk nearly full")


def test_a_lower_level_lets_info_through(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG")
    logging.getLogger("newsbot.test").debug("details")
    assert capsys.readouterr().err.endswith("DEBUG newsbot.test: details\n")
