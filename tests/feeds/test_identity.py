from datetime import UTC, datetime, timedelta

from newsbot.feeds.identity import Fingerprint, NearDuplicates, item_keys, jaccard, shingles
from newsbot.feeds.parse import FeedItem
from tests.feeds.server import FIXTURES

WHEN = datetime(2024, 1, 1, tzinfo=UTC)


def item(guid: str | None, link: str | None, title: str = "t") -> FeedItem:
    return FeedItem(guid, link, title, WHEN, "text")


def test_keys_use_unique_guids_else_links_else_a_hash() -> None:
    items = [
        item("a", "https://example.org/1"),
        item("dup", "https://example.org/2"),
        item("dup", "https://example.org/3?utm_source=x"),
        item(None, None, "no id"),
        item(None, None, "other"),
    ]
    keys = item_keys(items)
    assert len(set(keys)) == 5
    # A duplicate GUID falls back to the canonical link: the same key with tracking stripped.
    again = item_keys([item("dup", "https://example.org/3"), item("dup", "https://example.org/9")])
    assert keys[2] == again[0]
    assert item_keys(items) == keys  # stable across polls
    assert all(k.isalnum() for k in keys)


def test_jaccard() -> None:
    a = shingles("one two three four five six seven")
    assert jaccard(a, a) == 1.0
    assert jaccard(a, shingles("completely different words are written in this one")) == 0.0


def test_exact_near_and_different() -> None:
    base = FIXTURES[0].text
    dups = NearDuplicates()
    dups.add("first", Fingerprint.of(base))
    same = dups.find(Fingerprint.of("  " + base.upper().replace("\n\n", "\n") + " "))
    assert same is not None and same.of == "first" and same.how == "same text"
    # A republished copy with a different last sentence and a byline.
    near = base.rsplit(".", 2)[0] + ". Reporting by the wire service."
    match = dups.find(Fingerprint.of(near))
    assert match is not None and match.of == "first" and match.how.startswith("near duplicate")
    assert dups.find(Fingerprint.of(FIXTURES[1].text)) is None
    # Same template, other facts: too different to fold.
    assert dups.find(Fingerprint.of(base.replace("Lindqvist", "Marlow").replace("tram line", "pool"))) is None


def test_only_recent_texts_are_kept() -> None:
    dups = NearDuplicates(recent=2)
    for i, fixture in enumerate(FIXTURES[:3]):
        dups.add(str(i), Fingerprint.of(fixture.text))
    assert len(dups) == 2
    assert dups.find(Fingerprint.of(FIXTURES[0].text)) is None
    assert dups.find(Fingerprint.of(FIXTURES[2].text)) is not None
    dups.discard("2")
    assert dups.find(Fingerprint.of(FIXTURES[2].text)) is None


def test_near_duplicates_far_apart_in_time_are_kept_apart() -> None:
    base = FIXTURES[0].text
    near = base.rsplit(".", 2)[0] + ". Reporting by the wire service."
    dups = NearDuplicates()
    dups.add("first", Fingerprint.of(base), WHEN)
    assert dups.find(Fingerprint.of(near), WHEN + timedelta(days=2)) is not None
    assert dups.find(Fingerprint.of(near), WHEN + timedelta(days=30)) is None  # an update, not a copy
    assert dups.find(Fingerprint.of(base), WHEN + timedelta(days=30)) is not None  # the same text still is
