"""Fitting the no-match model: it separates what it can and hides no more than it may."""

import random

from newsbot.answers.evidence import Evidence
from newsbot.quality.nomatch import Case, figures, fit


def _case(rng: random.Random, answerable: bool, held: bool) -> Case:
    centre = 0.75 if answerable else 0.55
    values = [min(max(rng.gauss(centre, 0.12), 0.0), 1.0) for _ in range(6)]
    return Case(Evidence(*values), answerable, held)


def test_fit_hides_at_most_its_share_and_declines_more_than_a_coin() -> None:
    rng = random.Random(7)
    cases = [_case(rng, n % 2 == 0, n % 5 == 4) for n in range(2000)]
    model = fit(cases, hide=0.05, floor=0.0)
    tune = figures(model, [c for c in cases if not c.held])
    held = figures(model, [c for c in cases if c.held])
    assert tune.hidden <= 0.05 and tune.declined > 0.5
    assert held.hidden <= 0.1 and held.declined > 0.5
    assert all(w > 0 for w in model.weights)  # every measure points the same way here


def test_the_floor_declines_whatever_the_score() -> None:
    rng = random.Random(3)
    cases = [_case(rng, n % 2 == 0, False) for n in range(400)]
    model = fit(cases, floor=0.6)
    low = [c for c in cases if c.evidence.coverage < 0.6]
    assert low and not any(model.matches(c.evidence) for c in low)
