"""The fitted no-match model: constants printed by `python -m newsbot.quality.nomatch` (fitted on
the tuning questions of the RealTime QA development set; docs/quality.md, fourth round).

Standardised weights, in `Evidence` order: coverage 0.533, agreement 0.422, strength 0.045,
best sentence 0.379, lead 0.608, word pairs 0.146. A best passage holding under half of the
question's weight never matches; the cut hides 5% of the tuning questions' found answers, those
included (the rule before it: coverage >= 0.55).
"""

from __future__ import annotations

from newsbot.answers.evidence import Model

NO_MATCH = Model(
    mean=(0.726338, 0.121603, 0.459198, 0.571984, 0.152429, 0.335924),
    scale=(0.198018, 0.092584, 0.141602, 0.201914, 0.165126, 0.251918),
    weights=(0.533424, 0.422496, 0.044572, 0.379071, 0.608430, 0.145600),
    bias=0.040713,
    cut=-1.229529,
    floor=0.5,
)
