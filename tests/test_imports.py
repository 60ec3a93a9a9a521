import subprocess
import sys

import pytest

from newsbot.imports import without_scipy


def _run(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_imports_inside_see_no_scipy_and_later_ones_do() -> None:
    code = (
        "import importlib.util, sys\n"
        "from newsbot.imports import without_scipy\n"
        "with without_scipy():\n"
        "    try:\n"
        "        import scipy\n"
        "        print('seen')\n"
        "    except ImportError:\n"
        "        print('hidden')\n"
        "print('scipy' in sys.modules)\n"
        "if importlib.util.find_spec('scipy') is not None:\n"
        "    import scipy.linalg\n"
        "print('scipy' not in sys.modules or hasattr(sys.modules['scipy'], 'linalg'))\n"
    )
    assert _run(code) == ["hidden", "False", "True"]


def test_scipy_imported_already_stays() -> None:
    scipy = pytest.importorskip("scipy")
    with without_scipy():
        import scipy as inside

    assert inside is scipy and sys.modules["scipy"] is scipy


def test_overlapping_blocks_hide_it_until_the_last_ends() -> None:
    # Threads may overlap (the bot's feed threads stem while its first search loads numba).
    code = (
        "import sys, threading\n"
        "from newsbot.imports import without_scipy\n"
        "inner, outer = threading.Event(), threading.Event()\n"
        "def other():\n"
        "    with without_scipy():\n"
        "        inner.set(); outer.wait()\n"
        "        print(sys.modules.get('scipy', 0) is None)\n"
        "t = threading.Thread(target=other); t.start(); inner.wait()\n"
        "with without_scipy():\n"
        "    pass\n"
        "print(sys.modules.get('scipy', 0) is None)\n"
        "outer.set(); t.join()\n"
        "print('scipy' in sys.modules)\n"
    )
    assert _run(code) == ["True", "True", "False"]


def test_compiled_code_loads_without_scipy() -> None:
    # numba would import scipy.linalg (where installed) when its first function loads.
    pytest.importorskip("scipy")
    code = (
        "import sys\n"
        "from newsbot.index import chunktable\n"
        "chunktable.load()\n"
        "print(chunktable.ChunkTable().number(b'a b a', b'\\x00')[0].tolist(), 'scipy' in sys.modules)\n"
    )
    assert _run(code) == ["[1,", "2,", "1]", "False"]
