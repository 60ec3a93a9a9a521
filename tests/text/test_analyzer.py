import copy
import pickle
import subprocess
import sys

from newsbot.text.analyzer import Analyzer, default_analyzer, word_list
from newsbot.text.sentences import split_sentences


def test_terms_lowercase_stem_and_drop_stopwords() -> None:
    a = Analyzer()
    assert a.terms("Who was SANCTIONED? The sanctions!") == ["sanction", "sanction"]


def test_acronyms_join_and_possessives_split() -> None:
    a = Analyzer()
    assert a.terms("The U.S. and the U.K. froze Kadyrov’s assets") == [
        "us",
        "uk",
        "froze",
        "kadyrov",
        "asset",
    ]


def test_documents_and_queries_meet() -> None:
    a = default_analyzer()
    assert set(a.terms("sanctioning officials")) <= set(a.terms("Officials were sanctioned."))


def test_deterministic_and_cached() -> None:
    a = Analyzer()
    first = a.terms("Running runners ran")
    assert a.terms("Running runners ran") == first
    assert a.term("running") == "run"


def test_spans_point_at_the_original_text() -> None:
    text = "Kadyrov was SANCTIONED by the U.S. Treasury"
    spans = list(default_analyzer().spans(text))
    assert [text[s:e] for s, e, _ in spans] == ["Kadyrov", "SANCTIONED", "U.S.", "Treasury"]
    assert spans[1][2] == "sanction"


def test_no_crash_on_emoji_markup_and_junk() -> None:
    a = Analyzer()
    assert a.terms("🙂🙂 <b>**bold**</b> ___") == ["bold"]
    assert a.terms("🙂") == []
    assert a.terms("x" * 100) == []  # absurdly long tokens are junk


def test_shipped_word_lists_need_no_nltk_data() -> None:
    assert {"the", "who", "was"} <= word_list("stopwords.txt")
    assert "mr" in word_list("abbreviations.txt")


def test_sentences_handle_news_text() -> None:
    text = (
        "Mr. Johnson met Sen. Ann Lee in the U.S. Capitol. He said: “We won.” "
        "Then J. K. Rowling spoke! Was it 2.5 million? Yes.\n\nNew paragraph here"
    )
    assert split_sentences(text) == [
        "Mr. Johnson met Sen. Ann Lee in the U.S. Capitol.",
        "He said: “We won.”",
        "Then J. K. Rowling spoke!",
        "Was it 2.5 million?",
        "Yes.",
        "New paragraph here",
    ]


def test_acronym_at_sentence_end() -> None:
    assert split_sentences("He moved to the U.S. The rest followed.") == [
        "He moved to the U.S.",
        "The rest followed.",
    ]


def test_known_stems_belong_to_the_analyzer_that_knows_them() -> None:
    plain = Analyzer()
    knowing = plain.knowing({"zebras": "made-up"})
    assert knowing.term("zebras") == "made-up" and knowing.stopwords == plain.stopwords
    assert plain.term("zebras") == "zebra" and Analyzer().term("zebras") == "zebra"
    assert default_analyzer().term("zebras") == "zebra" and default_analyzer().known_stems is None
    assert copy.copy(knowing).term("zebras") == "made-up"  # forked workers keep them
    assert pickle.loads(pickle.dumps(knowing)).known_stems is None  # pickles carry the configuration


def test_fingerprint_follows_the_configuration() -> None:
    assert Analyzer().fingerprint() == default_analyzer().fingerprint()
    assert Analyzer().knowing({"a": "b"}).fingerprint() == Analyzer().fingerprint()
    other = Analyzer(stopwords=frozenset({"the"})).fingerprint()
    assert [k for k in other if other[k] != Analyzer().fingerprint()[k]] == ["stopwords"]


def test_non_latin_text_with_known_stems_needs_no_nltk() -> None:
    # nltk's package imports scipy where installed (seconds in a fresh process): a reindex whose
    # words the index already knows must not pay that for one Greek or Arabic word.
    code = (
        "import sys; from newsbot.text.analyzer import Analyzer\n"
        "a = Analyzer(known_stems={'σας': 'σας', 'καλημέρα': 'καλημέρα', '١٢٣': '١٢٣', 'ｘ': 'ｘ'})\n"
        "print(a.terms('ΣΑΣ, καλημέρα! ١٢٣ ｘ'), 'nltk' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("] ")[1].strip() == "False", done.stdout
    assert "'καλημέρα'" in done.stdout and "'١٢٣'" in done.stdout


def test_the_stemmer_is_imported_without_scipy_and_scipy_still_imports_after() -> None:
    # In a fresh process: nltk's import must not pull in scipy (0.55 s, 64 MB), and hiding it
    # from nltk must leave it importable for anyone else.
    code = (
        "import importlib.util, sys\n"
        "from newsbot.text.analyzer import snowball_english\n"
        "print(snowball_english()('sanctioned'), 'scipy' in sys.modules)\n"
        "if importlib.util.find_spec('scipy') is not None:\n"
        "    import scipy.stats\n"
        "print('scipy' not in sys.modules or hasattr(sys.modules['scipy'], 'stats'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["sanction", "False", "True"], done.stdout + done.stderr
