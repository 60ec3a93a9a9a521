"""One story: an update (same id), a re-typeset copy (same words), a wire copy (nearly the same)."""

from __future__ import annotations

from dataclasses import replace

from newsbot.watches.stories import NEAR_DUPLICATE, resemblance, same_story, sketch, story_key
from tests.watches.conftest import FOLLOW_UPS, SANCTIONS, follow_up


def test_story_keys_ignore_case_spacing_and_punctuation() -> None:
    text = "The EU announced “sanctions” on three banks.\n\nOfficials said so."
    assert story_key(text) == story_key("the eu announced sanctions on three banks officials said so")
    assert story_key(text) != story_key(text + " More.")
    assert story_key("...") == "" and sketch("...") == ()


def test_resemblance_estimates_shared_word_runs() -> None:
    long_text = " ".join(FOLLOW_UPS * 4)  # over 64 runs: the sketch is a sample
    assert len(sketch(long_text)) == 64
    assert resemblance(sketch(long_text), sketch(long_text)) == 1.0
    assert resemblance(sketch(FOLLOW_UPS[0]), sketch(FOLLOW_UPS[1])) < 0.2
    assert resemblance(sketch(""), sketch(FOLLOW_UPS[0])) == 0.0


def test_same_story() -> None:
    assert same_story(SANCTIONS, replace(SANCTIONS, text="rewritten entirely"))  # an update
    assert same_story(SANCTIONS, replace(SANCTIONS, id="retyped", text=SANCTIONS.text.upper()))
    wire = replace(
        SANCTIONS, id="wire", text="BRUSSELS (Wire) - " + SANCTIONS.text + " Editing by B. Editor."
    )
    assert resemblance(sketch(SANCTIONS.text), sketch(wire.text)) >= NEAR_DUPLICATE
    assert same_story(SANCTIONS, wire)
    assert not same_story(SANCTIONS, follow_up(0))
    assert not same_story(follow_up(0), follow_up(1))
