"""What kind of answer a question asks for, and whether a sentence holds one: plain text cues, no
downloaded data (no tagger, no gazetteer).

who / which person → a name (capitalised words the question does not have); when → a date (a
month, a weekday, a year, a day of the month); how many / how much → a number; where / which
country → a place (a capitalised word after "in", "at", "from"…), and which country / which
state → one of the names written out in `places.py`; other "which/what X" questions usually ask
for a proper noun, so they take the name cue too.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from typing import Literal

from newsbot.answers.places import COUNTRY, COUNTRY_Q, STATE, STATE_Q

Kind = Literal["name", "date", "number", "place", "country", "state", "thing"]
_LISTED = {"country": COUNTRY, "state": STATE}

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_MONTHS_SHORT = "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fifteen|twenty|thirty|"
    "forty|fifty|sixty|seventy|eighty|ninety|hundred|hundreds|thousand|thousands|million|millions|"
    "billion|billions|trillion|dozen|dozens|half|third|quarter|percent|per cent"
)
_PLACE_WORDS = (
    "country|countries|city|cities|state|states|nation|nations|place|places|region|island|islands|"
    "continent|capital|town|province|county|location|territory|ocean|sea|river|mountain|park|airport"
)
_PERSON_WORDS = (
    "person|man|woman|people|leader|president|actor|actress|singer|star|player|athlete|official|"
    "politician|minister|senator|governor|ceo|executive|author|artist|musician|rapper|director|"
    "judge|king|queen|prince|princess|celebrity|billionaire|founder|candidate|lawmaker|member|"
    "comedian|host|journalist|scientist|astronaut|coach|quarterback|pope|justice|mayor"
)
_DATE_WORDS = "year|date|day|month|week|decade|century|time|season"

_NUMBER_Q = re.compile(
    r"\b(how (many|much|old|long|far|high|tall|big|fast|often|soon)|what (percentage|percent|share|"
    r"proportion|number|amount|age|price|fraction)|by how)\b"
)
_DATE_Q = re.compile(rf"\b(when|(what|which) ({_DATE_WORDS}))\b")
_PLACE_Q = re.compile(rf"\b(where|(what|which) ({_PLACE_WORDS}))\b")
_PERSON_Q = re.compile(rf"\b(who|whom|whose|(what|which) ({_PERSON_WORDS}))\b")
_WHICH_Q = re.compile(r"\b(which|what)\b")

_DATE = re.compile(
    rf"\b({_MONTHS}|({_MONTHS_SHORT})\.|{_WEEKDAYS}|(1[89]|20)\d\d|\d{{1,2}}(st|nd|rd|th)|"
    r"yesterday|today|tomorrow|tonight)\b",
    re.IGNORECASE,
)
_CALENDAR = re.compile(rf"{_MONTHS}|{_MONTHS_SHORT}|{_WEEKDAYS}")  # capitalised, but not names
_NUMBER = re.compile(rf"\d|\b({_NUMBER_WORDS})\b|%", re.IGNORECASE)
_CAPITALISED = re.compile(r"\b[A-Z][\w’'.&-]*[A-Za-z0-9]|\b[A-Z]\b")
_NUMBER_TOKEN = re.compile(rf"\d[\d,.]*%?|\b({_NUMBER_WORDS})\b", re.IGNORECASE)
_PLACE = re.compile(r"\b(?:in|at|from|to|near|across|of)\s+(?:the\s+)?([A-Z][\w’'.-]*)")
_SENTENCE_END = re.compile(r"(?<=[.?!])(?<!\b[A-Z]\.)\s+")  # not after an initial: "U.S. state"
_NAME_RUN = re.compile(r"\b[A-Z][\w’'.&-]*[A-Za-z0-9](?:\s+[A-Z][\w’'.&-]*[A-Za-z0-9])+")


def asked_part(question: str) -> str:
    """The question proper: its last sentence that asks (a quiz question often has a preamble)."""
    parts = [p for p in _SENTENCE_END.split(question.strip()) if p.strip()]
    return next((p for p in reversed(parts) if p.rstrip().endswith("?")), parts[-1] if parts else "")


def question_kind(question: str) -> Kind:
    """What the question asks for, read from the question proper."""
    text = asked_part(question).lower()
    if _NUMBER_Q.search(text):
        return "number"
    if _DATE_Q.search(text):
        return "date"
    if COUNTRY_Q.search(text):
        return "country"
    if STATE_Q.search(text):
        return "state"
    if _PLACE_Q.search(text):
        return "place"
    if _PERSON_Q.search(text):
        return "name"
    if _WHICH_Q.search(text):
        return "thing"
    return "thing"


def capitalised(sentence: str, common: frozenset[str] = frozenset()) -> list[str]:
    """The capitalised words of a sentence, lowercased; the first word only when it is not a
    `common` word (a first word is capitalised anyway, but "Miami, where…" opens with a name)."""
    words = [m.group() for m in _CAPITALISED.finditer(sentence)]
    first = re.match(r"\W*(\w+)", sentence)
    if words and first and words[0] == first.group(1) and words[0].lower() in common:
        words = words[1:]
    return [w.lower() for w in words]


def full_name_words(sentence: str, common: frozenset[str] = frozenset()) -> frozenset[str]:
    """The lowercased words of a sentence that stand inside a name of two or more capitalised
    words ("LeBron James", "Detroit Lions"), a `common` first word ("The") aside."""
    out: set[str] = set()
    for match in _NAME_RUN.finditer(sentence):
        words = match.group().lower().split()
        while words and words[0] in common:
            words = words[1:]
        if len(words) >= 2:
            out.update(words)
    return frozenset(out)


def holds(kind: Kind, sentence: str, novel_names: set[str]) -> bool:
    """Whether `sentence` holds the kind of answer asked for. `novel_names`: its capitalised words
    that are not in the question."""
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "place":
        return any(m.group(1).lower() in novel_names for m in _PLACE.finditer(sentence))
    if kind in _LISTED:
        return bool(_listed(_LISTED[kind], sentence, novel_names))
    return any(not _CALENDAR.fullmatch(name) for name in novel_names)


def candidates(kind: Kind, sentence: str, novel_names: frozenset[str]) -> frozenset[str]:
    """The words of a sentence that could be the answer: numbers for "how many", dates for
    "when", new names otherwise."""
    if kind == "number":
        return frozenset(m.group().lower() for m in _NUMBER_TOKEN.finditer(sentence))
    if kind == "date":
        return frozenset(m.group().lower() for m in _DATE.finditer(sentence))
    if kind in _LISTED:
        return _listed(_LISTED[kind], sentence, novel_names)
    return novel_names


def _listed(pattern: re.Pattern[str], sentence: str, novel_names: AbstractSet[str]) -> frozenset[str]:
    """The listed names in `sentence` with a word the question lacks ("South Korea" beside a
    question about North Korea), lowercased."""
    found = (m.group().lower() for m in pattern.finditer(sentence))
    return frozenset(n for n in found if any(w in novel_names for w in n.split()))
