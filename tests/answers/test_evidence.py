"""The no-match evidence: word pairs, the lead, and the model's floor."""

from pathlib import Path

from newsbot.answers.answer import consider
from newsbot.answers.evidence import Evidence, Model, lead, phrase_share
from newsbot.index.build import build_index
from newsbot.text.analyzer import default_analyzer

ONE = Evidence(coverage=0.8, agreement=0.2, strength=0.5, sentence=0.6, lead=0.1, phrase=0.5)


def test_word_pairs_count_only_when_they_stand_together() -> None:
    analyzer = default_analyzer()
    terms = analyzer.terms("dam burst flooded villages")
    weights = dict.fromkeys(terms, 1.0)
    together = phrase_share(analyzer, terms, "The dam burst and flooded three villages.", weights)
    apart = phrase_share(
        analyzer, terms, "Villages near the dam were quiet until the burst of news flooded in.", weights
    )
    assert together == 1.0 and apart < together
    stem = analyzer.term("burst")
    assert phrase_share(analyzer, terms, "The dam burst.", weights, absent={stem}) == 0.0


def test_lead_is_zero_without_a_second_passage() -> None:
    assert lead([4.0, 3.0]) == 0.25
    assert lead([4.0]) == 0.0


def test_the_model_never_matches_below_its_floor() -> None:
    model = Model(mean=(0.0,) * 6, scale=(1.0,) * 6, weights=(1.0,) * 6, bias=0.0, cut=0.0, floor=0.5)
    assert model.matches(ONE)
    weak = Evidence(coverage=0.4, agreement=1.0, strength=1.0, sentence=1.0, lead=1.0, phrase=1.0)
    assert model.score(weak) > model.score(ONE) and not model.matches(weak)


def test_the_evidence_of_a_real_answer(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "---\ntitle: Dam bursts\n---\nThe Kelby dam burst on Sunday and flooded villages.\n"
    )
    (tmp_path / "b.md").write_text(
        "---\ntitle: Dam repairs\n---\nThe Kelby dam will be repaired after it burst.\n"
    )
    (tmp_path / "c.md").write_text("---\ntitle: Bakery\n---\nBread prices rose at the bakery.\n")
    index = build_index(tmp_path, default_analyzer())[0]
    got = consider(index, default_analyzer(), "Which villages did the Kelby dam flood when it burst?")
    assert got.evidence is not None and got.evidence.coverage == 1.0
    assert 0 < got.evidence.agreement < 1 and 0 < got.evidence.lead < 1 and got.evidence.phrase > 0
    assert consider(index, default_analyzer(), "quantum zebra xylophone").evidence is None
