"""The analysis of a batch (whole-batch tokenizing, chunk numbers, numpy counting) against the
plain definition: per passage, `Analyzer.terms` of the title then of the passage, counted in order
of first occurrence (what a build did passage by passage with `Counter`)."""

import json
import os
import random
import struct
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from newsbot.corpus.read import FileRead, read_file
from newsbot.index import readers
from newsbot.index.build import build_index
from newsbot.index.readers import files_read
from newsbot.index.sharing import SharedStems, scratch
from newsbot.index.tables import Table
from newsbot.index.textspill import TextSpill
from newsbot.index.workers import _Analysis
from newsbot.text.analyzer import Analyzer
from newsbot.text.passages import split_passages

TRICKY = [
    ("U.S. sanctions", "The U.S.-led sanctions (Reuters) hit Kadyrov's allies; “sanctioned” don’t."),
    ("", "No title here: just words, words, WORDS and words."),
    ("ΟΔΟΣ'Α Σ", "Greek ΟΔΟΣ'Α and ΟΔΟΣ, and ΣΟΦΟΣ. İstanbul KELVIN \u212a."),
    ("Слово-word", "Кириллица-mixed text, naïve café-owners, e\u0301 combining a'\u0301b."),
    ("nul\x00 title", "A \x00 standalone nul, a\x00b inside, \x00\x00 and \x00\x00\x00 runs."),
    ("snake_case", "under_score x_y 42nd 3.14 1u.s. a.b.c.d. e.g., i.e. — dash – dash … end"),
    ("spaces\xa0wide", "no-break\xa0space, em\u2003space, ideographic\u3000space, line\u2028sep\x85nel."),
    ("İSTANBUL Ärger", "KELVIN \u212a, ÉCOLE and Élan, ẞ STRASSE, ǅ, Ǆ digraphs (no capital sigma)."),
    ("long", "x" * 50 + " " + "y" * 40 + " https://example.com/a-b_c?d=e#f"),
    ("Repeats", " ".join(["market"] * 30 + ["markets"] * 3 + ["the"] * 10)),
]


def reference(analyzer: Analyzer, batch: list[tuple[str, str]], target: int) -> list[list[tuple[str, int]]]:
    out = []
    for title, text in batch:
        for piece in split_passages(text, target):
            out.append(list(Counter(analyzer.terms(title) + analyzer.terms(piece)).items()))
    return out


def analysed(analysis: _Analysis, batches: list[list[tuple[str, str]]]) -> list[list[tuple[str, int]]]:
    terms: list[str] = []
    out = []
    for batch in batches:
        result = analysis.run(batch)
        terms += result.new_terms
        ends = np.cumsum(result.lengths)
        for end, length in zip(ends, result.lengths, strict=True):
            ids = result.term_ids[end - length : end]
            counts = result.counts[end - length : end]
            out.append([(terms[i], int(c)) for i, c in zip(ids, counts, strict=True)])
    return out


COMPILED = pytest.mark.parametrize("compiled", [False, True], ids=["dict", "compiled"])


@COMPILED
def test_a_batch_has_the_terms_and_counts_of_each_passage_analysed_alone(compiled: bool) -> None:
    analysis = _Analysis(Analyzer(), 12, compiled=compiled)
    batches = [TRICKY[:4], TRICKY[4:], TRICKY]  # later batches meet known chunks
    assert analysed(analysis, batches) == reference(Analyzer(), [p for b in batches for p in b], 12)


@COMPILED
def test_a_batch_in_utf8_is_analysed_as_its_text(compiled: bool) -> None:
    """Spilled texts reach a worker in UTF-8 (see `chunks.entry`): the same analysis as the strings',
    odd spacing (left to `split_passages`) included."""
    batch = [*TRICKY, ("odd  spacing", "Two  spaces \tand a tab.\n\nAnd a line.")]
    utf8 = [(t.encode("utf-8", "surrogatepass"), x.encode("utf-8", "surrogatepass")) for t, x in batch]
    want = _Analysis(Analyzer(), 12, compiled=compiled).run(batch)
    got = _Analysis(Analyzer(), 12, compiled=compiled).run(utf8)
    assert (got.new_terms, got.passages, got.text) == (want.new_terms, want.passages, want.text)
    assert got.term_ids.tolist() == want.term_ids.tolist() and got.counts.tolist() == want.counts.tolist()


@COMPILED
def test_term_ids_are_numbered_in_order_of_first_occurrence(compiled: bool) -> None:
    result = _Analysis(Analyzer(), 300, compiled=compiled).run([("Zebra yak", "Yak xylophone zebra walrus.")])
    assert result.new_terms == ["zebra", "yak", "xylophon", "walrus"]
    assert result.term_ids.tolist() == [0, 1, 2, 3] and result.counts.tolist() == [2, 2, 1, 1]


def test_compiled_analysis_ranks_each_posting_among_its_terms_in_the_batch() -> None:
    """The ranks a cold build places its postings by (see `bm25.by_term`): each of a passage's
    distinct terms counted among the batch's earlier passages that have it; the plain analysis,
    for small batches, leaves them to a sort."""
    analysis = _Analysis(Analyzer(), 12, compiled=True)
    for batch in [TRICKY[:4], TRICKY]:
        result = analysis.run(batch)
        seen: dict[int, int] = {}
        want = []
        for term in result.term_ids.tolist():
            want.append(seen.get(term, 0))
            seen[term] = want[-1] + 1
        assert result.ranks is not None and result.ranks.tolist() == want
    assert _Analysis(Analyzer(), 12).run(TRICKY).ranks is None
    assert analysis.chunks.ranks(result.term_ids, 65_537) is None  # past what 16 bits rank


@COMPILED
def test_a_saved_stem_table_gives_the_same_analysis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiled: bool
) -> None:
    """A reindex's analysis looks plain words up in the saved stems all at once: the same terms,
    counts and term numbering as the stemmer's, and the words the table lacks still stemmed."""
    batches = [TRICKY[:4], TRICKY[4:], TRICKY, [("Walrus", "Walruses and unheard-of xylophones, naïvely.")]]
    plain = _Analysis(Analyzer(), 12)
    expected = [plain.run(batch) for batch in batches]
    stems = {t: s for r in expected for t, s in r.stems.items() if t not in ("walruses", "xylophones")}
    Table.of(stems, f"S{Table.WIDTH}").save(tmp_path, "stems")
    known = _Analysis(Analyzer().knowing(Table.open(tmp_path, "stems")), 12, compiled=compiled)
    slow: list[str] = []  # chunks analysed one by one
    real = Analyzer.chunk_terms
    monkeypatch.setattr(Analyzer, "chunk_terms", lambda self, chunk: slow.append(chunk) or real(self, chunk))
    for batch, want in zip(batches, expected, strict=True):
        got = known.run(batch)
        assert got.new_terms == want.new_terms and got.term_ids.tolist() == want.term_ids.tolist()
        assert got.counts.tolist() == want.counts.tolist() and got.lengths.tolist() == want.lengths.tolist()
    assert known.analyzer.take_stems() == {}  # reported with each batch, as ever
    assert set(got.stems) == {"walruses", "xylophones"}  # only the stemmer's, not the table's
    # The table's plain words were looked up all at once: one by one only the rest.
    assert "market" not in slow and "words." not in slow and "the" not in slow  # a last word, a stopword
    assert "walruses" in slow and "u.s." in slow and "3.14" in slow


@COMPILED
def test_random_text_is_analysed_as_passage_by_passage(compiled: bool) -> None:
    rng = random.Random(15)
    alphabet = "abcAB.,'-_ \n\x00Σσé’“Жж\u0301İ0129\xa0\u2003\u3000\x85\u2028\x1f–…"
    words = ["the", "U.S.", "sanctions", "Mr.", "ΟΔΟΣ", "don't", "naïve", "e.g.", "x\x00y"]

    def word() -> str:
        made = "".join(rng.choices(alphabet, k=rng.randint(1, 9)))
        return rng.choice(words) if rng.random() < 0.5 else made

    batches = []
    for _ in range(6):
        batch = []
        for _ in range(rng.randint(1, 5)):
            title = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
            text = " ".join(word() for _ in range(rng.randint(1, 80)))
            batch.append((title, text))
        if len(batches) % 2:  # without a capital sigma: other capitals lowered chunk by chunk
            batch = [(title.replace("Σ", "Ж"), text.replace("Σ", "Ж")) for title, text in batch]
        batches.append(batch)
    analysis = _Analysis(Analyzer(), 10, compiled=compiled)
    assert analysed(analysis, batches) == reference(Analyzer(), [p for b in batches for p in b], 10)
    fresh = _Analysis(Analyzer(), 10, compiled=compiled)
    assert all(result for result in analysed(fresh, batches[:1]))  # not all empty


@COMPILED
def test_random_text_with_a_stem_table_is_analysed_as_without(tmp_path: Path, compiled: bool) -> None:
    """Plain words, stopwords, last words of sentences, words the table lacks and odd chunks
    mixed at random: the same term numbering, terms and counts as the stemmer's."""
    rng = random.Random(16)
    vocabulary = [
        f"{rng.choice(['walk', 'run', 'sing', 'fish'])}{rng.choice(['', 'ing', 'ed', 's'])}{n}"
        for n in range(60)
    ]
    vocabulary += ["the", "and", "u.s.", "don't", "naïve", "x" * 45, "3.14", "ing", "..."]
    batches = [
        [
            (
                " ".join(rng.choices(vocabulary, k=rng.randint(0, 4))),
                " ".join(
                    w + rng.choice(["", "", ".", "..", ","])
                    for w in rng.choices(vocabulary, k=rng.randint(1, 60))
                ),
            )
            for _ in range(rng.randint(1, 4))
        ]
        for _ in range(8)
    ]
    plain = _Analysis(Analyzer(), 10)
    expected = [plain.run(batch) for batch in batches]
    stems = {t: s for r in expected for t, s in r.stems.items() if rng.random() < 0.7}  # some lacking
    Table.of(stems, f"S{Table.WIDTH}").save(tmp_path, "stems")
    known = _Analysis(Analyzer().knowing(Table.open(tmp_path, "stems")), 10, compiled=compiled)
    for batch, want in zip(batches, expected, strict=True):
        got = known.run(batch)
        assert got.new_terms == want.new_terms and got.term_ids.tolist() == want.term_ids.tolist()
        assert got.counts.tolist() == want.counts.tolist() and got.lengths.tolist() == want.lengths.tolist()


def _corpus(root: Path) -> list[str]:
    """A few files of each kind, a bad one among them."""
    root.mkdir()
    for n in range(7):
        (root / f"a{n}.txt").write_text(f"Title {n}\nBody of article {n}, about sanctions and markets.\n")
    wire = [{"id": f"w{n}", "title": f"Wire {n}", "text": f"Wire text {n}."} for n in range(3)]
    (root / "wire.jsonl").write_text("\n".join(map(json.dumps, wire)))
    (root / "bad.json").write_text("{not json")
    return sorted(p.name for p in root.iterdir())


def test_files_read_in_processes_as_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "_READ_FILES", 2)  # several tasks for the 2 processes
    rels = _corpus(tmp_path / "corpus")
    root = tmp_path / "corpus"
    expected = [read_file(root / rel, root) for rel in rels]
    assert list(files_read(root, rels, workers=2)) == expected
    assert list(files_read(root, rels, workers=1)) == expected
    assert any(read.skipped for read in expected) and sum(len(r.articles) for r in expected) == 10


def test_a_build_reading_in_processes_is_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "corpus"
    _corpus(root)
    one, _ = build_index(root, Analyzer())
    monkeypatch.setattr(readers, "_PARALLEL_MIN_CHARS", 0)  # the corpus read by `files_read`
    called: list[tuple[int, bool]] = []
    real = readers.files_read

    def spied(root: Path, rels: list[str], spill: TextSpill | None = None) -> Iterator[FileRead]:
        called.append((len(rels), spill is not None))
        return real(root, rels, spill=spill)

    monkeypatch.setattr(readers, "files_read", spied)
    two, report = build_index(root, Analyzer())
    assert called == [(len(list(root.iterdir())), True)] and report.articles == 10  # texts spilled there
    assert [a.id for a in two.articles] == [a.id for a in one.articles]
    assert [two.passage_text(p) for p in range(two.n_passages)] == [
        one.passage_text(p) for p in range(one.n_passages)
    ]
    query = two.term_ids(["sanction", "wire", "bodi"])
    assert two.scores(query).tolist() == one.scores(query).tolist()


def test_shared_stems_are_taken_from_earlier_batches_only() -> None:
    with scratch() as file:
        a, b = SharedStems(file.fileno()), SharedStems(file.fileno())
        a.tell(0, {"markets": "market"})
        a.tell(3, {"running": "run"})
        b.tell(1, {"zebras": "zebra"})
        b.learn(2)
        assert b.known == {"markets": "market"}  # batch 3's stems are not usable for batch 2
        b.learn(4)
        assert b.known == {"markets": "market", "running": "run"}  # its own not read back
        a.learn(2)
        assert a.known == {"zebras": "zebra"}
        os.write(file.fileno(), struct.pack("<qq", 5, 100) + b"cut short")  # a record mid-write
        b.learn(9)
        assert b.offset == os.fstat(file.fileno()).st_size - 16 - 9  # left for later


def test_parallel_analysis_reports_the_stems_in_the_same_order(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    rng = random.Random(15)
    stems = ("market", "run", "sanction", "zebra", "walk", "talk")
    words = [f"{w}{s}" for w in stems for s in ("", "s", "ing", "ed")]
    for n in range(60):
        text = " ".join(rng.choices(words, k=400))
        (root / f"a{n:02d}.txt").write_text(f"Title {n}\n{text} word{n}ing\n")
    one, _ = build_index(root, Analyzer(), workers=1)
    two, _ = build_index(root, Analyzer(), workers=2)
    assert list(two.stems.items()) == list(one.stems.items()) and len(one.stems) > 20
    assert list(two.terms) == list(one.terms)


def test_numba_is_loaded_by_analysis_workers_only() -> None:
    """A small reindex or a CLI command in a fresh process pays no compiled code's import
    (~0.2 s): only analysis workers (and the search) load it."""
    code = "import sys, newsbot.index.build, newsbot.cli; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_small_reindex_forks_two_workers_without_compiled_code(tmp_path: Path) -> None:
    """Text enough to share but not to pay for loading compiled code: two forked processes
    analyse it the plain way (none when no core is spare), and the index is the one analysed
    here. In a fresh process: one that runs other threads (pytest's, after other tests) forks none."""
    root = tmp_path / "corpus"
    root.mkdir()
    rng = random.Random(7)
    words = [f"{w}{s}" for w in ("harbour", "strike", "vote", "ship") for s in ("", "s", "ing")]
    for n in range(12):
        (root / f"a{n:02d}.txt").write_text(f"Title {n}\n{' '.join(rng.choices(words, k=300))}\n")
    out = subprocess.run(
        [sys.executable, "-c", _FORKING, str(root)], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout) == [[["fork", 2, False]], True, [], True]


_FORKING = """
import json, sys
from pathlib import Path
import numpy as np
from newsbot.index import workers
from newsbot.index.build import build_index
from newsbot.text.analyzer import Analyzer

root = Path(sys.argv[1])
previous = build_index(root, Analyzer(), workers=1)[0]
for n in range(0, 12, 2):  # half the articles rewritten: a reindex with 6 to analyse
    path = root / f"a{n:02d}.txt"
    path.write_text(path.read_text() + f" new{n}")
here, _ = build_index(root, Analyzer(), previous=previous, workers=1)
started, real = [], workers.ordered_map
def spy(context, processes, setup, args, work, tasks):
    started.append((context.get_start_method(), processes, args[4]))  # args[4]: compiled
    return real(context, processes, setup, args, work, tasks)
workers.ordered_map, workers._FORKED_MIN_CHARS = spy, 1
out = []
for spare in (True, False):
    workers.spare_core = lambda: spare
    started.clear()
    index, _ = build_index(root, Analyzer(), previous=previous)
    same = list(index.terms) == list(here.terms) and list(index.stems.items()) == list(here.stems.items())
    for query in (["harbour", "strike"], ["new4", "ship"]):
        same = same and np.array_equal(index.scores(index.term_ids(query)), here.scores(here.term_ids(query)))
    out += [list(map(list, started)), same]
print(json.dumps(out))
"""
