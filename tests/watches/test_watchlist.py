"""Watches.match and check: what fires, once, and how it is delivered."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from newsbot.errors import NotFound
from newsbot.index.build import build_index
from newsbot.index.store import Index
from newsbot.records import Article
from newsbot.text.analyzer import default_analyzer
from newsbot.watches import BadWatch, Delivery, Mode, Watch, Watches
from tests.watches.conftest import NOW, SANCTIONS, TODAY, background, follow_up, write_corpus

BEFORE = NOW - timedelta(hours=1)


def test_a_matching_new_article_fires_once_with_its_best_passage(watches: Watches, index: Index) -> None:
    watch = watches.add("sanctions on Russian banks", now=BEFORE)
    found = watches.match([SANCTIONS], index, now=NOW)
    assert [(m.watch.id, m.article.id) for m in found] == [(watch.id, "sanctions-1")]
    match = found[0]
    assert 0.4 <= match.strength < 1
    assert match.delivery is Delivery.NOW
    assert "Russian banks" in match.passage
    assert set(match.terms) == {"sanction", "russian", "bank"}
    assert watches.match([SANCTIONS], index, now=NOW) == []  # the same article again


def test_an_unrelated_article_does_not_fire(watches: Watches, index: Index) -> None:
    watches.add("sanctions on Russian banks", now=BEFORE)
    assert watches.match(background(), index, now=NOW) == []


def test_the_rarest_term_is_required(watches: Watches, index: Index) -> None:
    # "zeppelin" is in no passage: the rarest term, absent from the article, so no match, however
    # much of the rest of the query the article has.
    watches.add("Russian banks sanctions zeppelin", now=BEFORE)
    assert watches.match([SANCTIONS], index, now=NOW) == []


def test_only_articles_indexed_after_the_watch_was_created(watches: Watches, index: Index) -> None:
    watches.add("sanctions on Russian banks", now=NOW)
    assert watches.match([SANCTIONS], index, now=NOW + timedelta(hours=1), indexed_at=BEFORE) == []
    assert len(watches.match([SANCTIONS], index, now=NOW + timedelta(hours=1))) == 1


def test_articles_older_than_48_hours_never_fire_undated_ones_do(watches: Watches, index: Index) -> None:
    watches.add("sanctions on Russian banks", now=BEFORE - timedelta(days=9))
    old = replace(SANCTIONS, date=TODAY - timedelta(days=3))
    recent, undated = follow_up(0, TODAY - timedelta(days=2)), follow_up(1, None)
    assert watches.match([old], index, now=NOW) == []
    found = watches.match([recent, undated], index, now=NOW)
    assert [m.article.id for m in found] == ["follow-0", "follow-1"]


def test_an_update_or_a_copy_of_a_story_never_fires_again(watches: Watches, index: Index) -> None:
    watches.add("sanctions on Russian banks", now=BEFORE)
    assert len(watches.match([SANCTIONS], index, now=NOW)) == 1
    update = replace(
        SANCTIONS, title=SANCTIONS.title + " (updated)", text=SANCTIONS.text + " Updated at noon."
    )
    copy = replace(
        SANCTIONS, id="wire-copy", source="Coast Herald", text=SANCTIONS.text.upper().replace(".", " .")
    )
    wire = replace(
        SANCTIONS,
        id="wire-2",
        source="Harbour Post",
        text="BRUSSELS (Wire) - " + SANCTIONS.text + "\n\nReporting by A. Writer; editing by B. Editor.",
    )
    assert watches.match([update, copy, wire], index, now=NOW + timedelta(hours=2)) == []
    other = replace(SANCTIONS, id="follow-up", text="Russian banks said the sanctions would hurt savers.")
    assert [m.article.id for m in watches.match([other], index, now=NOW + timedelta(hours=2))] == [
        "follow-up"
    ]


def test_two_copies_in_one_batch_fire_once(watches: Watches, index: Index) -> None:
    watches.add("sanctions on Russian banks", now=BEFORE)
    copy = replace(SANCTIONS, id="copy")
    assert len(watches.match([SANCTIONS, copy], index, now=NOW)) == 1


def test_source_restricts_a_watch(watches: Watches, index: Index) -> None:
    watches.add("sanctions Russian banks", source="coast herald", now=BEFORE)
    assert watches.match([SANCTIONS], index, now=NOW) == []
    other = replace(SANCTIONS, id="herald", source="Coast Herald", text=SANCTIONS.text + " Herald.")
    assert len(watches.match([other], index, now=NOW)) == 1


def test_the_hourly_cap_sends_the_rest_to_the_digest(watches: Watches, index: Index) -> None:
    capped = Watches(watches.store, default_analyzer(), hourly_cap=2)
    watch = capped.add("sanctions on Russian banks", now=BEFORE)
    stories = [follow_up(i) for i in range(4)]
    found = capped.match(stories, index, now=NOW)
    assert [m.delivery for m in found] == [Delivery.NOW, Delivery.NOW, Delivery.DIGEST, Delivery.DIGEST]
    later = follow_up(4)
    assert capped.match([later], index, now=NOW + timedelta(minutes=61))[0].delivery is Delivery.NOW
    [digest] = capped.digests()
    assert digest.watch.id == watch.id and len(digest.match_ids) == 2
    capped.mark_delivered(digest.match_ids)
    assert capped.digests() == []


def test_daily_watches_go_to_the_digest_grouped_strongest_first(watches: Watches, index: Index) -> None:
    daily = watches.add("sanctions on Russian banks", mode=Mode.DAILY, now=BEFORE)
    weak = replace(
        SANCTIONS,
        id="weak",
        title="Markets today",
        text="Traders said sanctions on Russian banks weighed on markets. Oil rose; shares fell.",
    )
    found = watches.match([weak, SANCTIONS], index, now=NOW)
    assert {m.delivery for m in found} == {Delivery.DIGEST}
    assert watches.pending() == []
    [digest] = watches.digests()
    assert digest.watch.id == daily.id
    strengths = [m.strength for m in digest.matches]
    assert strengths == sorted(strengths, reverse=True) and len(strengths) == 2
    [short] = watches.digests(limit=1)
    assert len(short.matches) == 1 and short.more == 1


def test_a_muted_watch_holds_its_matches(watches: Watches, index: Index) -> None:
    watch = watches.add("sanctions on Russian banks", now=BEFORE)
    muted = watches.mute(None, watch.id, timedelta(hours=2), now=NOW)
    assert muted.muted(NOW) and not muted.muted(NOW + timedelta(hours=3))
    [held] = watches.match([SANCTIONS], index, now=NOW)
    assert held.delivery is Delivery.HELD
    assert watches.pending() == [] and watches.digests() == []
    later = follow_up(4)
    assert watches.match([later], index, now=NOW + timedelta(hours=3))[0].delivery is Delivery.NOW


def test_a_failed_delivery_pauses_the_watch_with_the_reason(watches: Watches, index: Index) -> None:
    watch = watches.add("sanctions on Russian banks", user_id=42, now=BEFORE)
    [match] = watches.match([SANCTIONS], index, now=NOW)
    assert [m.id for m in watches.pending()] == [match.id]
    paused = watches.mark_failed(match.id, "DMs are closed", now=NOW)
    assert paused.paused == "DMs are closed" and paused.id == watch.id
    assert watches.pending() == []
    later = follow_up(4)
    assert watches.match([later], index, now=NOW)[0].delivery is Delivery.HELD
    assert watches.resume(None, watch.id).paused is None


def test_delivered_matches_leave_the_pending_list(watches: Watches, index: Index) -> None:
    watches.add("sanctions on Russian banks", now=BEFORE)
    [match] = watches.match([SANCTIONS], index, now=NOW)
    watches.mark_delivered([match.id])
    assert watches.pending() == []


def test_visibility_hook_decides_per_watch(watches: Watches, index: Index) -> None:
    def only_guild_1(watch: Watch, article: Article) -> bool:
        return watch.guild_id == 1

    scoped = Watches(watches.store, default_analyzer(), visible=only_guild_1)
    one = scoped.add("sanctions on Russian banks", guild_id=1, channel_id=10, now=BEFORE)
    scoped.add("sanctions on Russian banks", guild_id=2, channel_id=20, now=BEFORE)
    assert [m.watch.id for m in scoped.match([SANCTIONS], index, now=NOW)] == [one.id]


def test_a_watch_sees_the_operators_articles_and_its_own_guilds_never_anothers(
    watches: Watches, index: Index
) -> None:
    home = watches.add("sanctions on Russian banks", guild_id=1, channel_id=10, now=BEFORE)
    other = watches.add("sanctions on Russian banks", guild_id=2, channel_id=20, now=BEFORE)
    operator = watches.add("sanctions on Russian banks", now=BEFORE)
    operators = replace(SANCTIONS, path="wire/sanctions.md")
    guild_2s = replace(follow_up(0, TODAY), path="guilds/2/uploads/follow.md")
    fired = {(m.watch.id, m.article.id) for m in watches.match([operators, guild_2s], index, now=NOW)}
    assert fired == {
        (home.id, "sanctions-1"),
        (other.id, "sanctions-1"),
        (operator.id, "sanctions-1"),
        (other.id, "follow-0"),
    }


def test_guilds_see_and_change_only_their_own_watches(watches: Watches) -> None:
    mine = watches.add("sanctions", guild_id=1, channel_id=5, now=BEFORE)
    theirs = watches.add("chess", guild_id=2, user_id=7, now=BEFORE)
    assert [w.id for w in watches.list_watches(guild_id=1)] == [mine.id]
    assert [w.id for w in watches.list_watches()] == [mine.id, theirs.id]
    assert theirs.target == "DM to 7" and mine.target == "channel 5"
    with pytest.raises(NotFound):
        watches.remove(1, theirs.id)
    assert watches.remove(2, theirs.id).id == theirs.id
    assert [w.id for w in watches.list_watches()] == [mine.id]


@pytest.mark.parametrize("query", ["", "the and of", "x" * 300])
def test_a_watch_needs_searchable_words(watches: Watches, query: str) -> None:
    with pytest.raises(BadWatch):
        watches.add(query)


def test_check_takes_the_first_index_as_backlog_then_matches_what_a_reindex_adds(
    tmp_path: Path, watches: Watches
) -> None:
    root = tmp_path / "live"
    write_corpus(root, [*background(), replace(SANCTIONS, id="backlog", text=SANCTIONS.text + " Backlog.")])
    first, _ = build_index(root, default_analyzer())
    watches.add("sanctions on Russian banks", now=datetime.fromisoformat(first.built_at) - timedelta(hours=1))
    report = watches.check(first, now=NOW)
    assert report.backlog and report.matches == () and report.looked_at == 7
    fresh = replace(SANCTIONS, date=None)  # undated: new whenever it comes (build times are real)
    write_corpus(
        root, [*background(), replace(SANCTIONS, id="backlog", text=SANCTIONS.text + " Backlog."), fresh]
    )
    second, _ = build_index(root, default_analyzer(), previous=first)
    report = watches.check(second, now=datetime.fromisoformat(second.built_at))
    assert not report.backlog and report.looked_at == 1
    assert [m.article.id for m in report.matches] == ["sanctions-1"]
    assert watches.check(second).looked_at == 0


def test_check_ignores_articles_indexed_before_the_watch(
    tmp_path: Path, watches: Watches, index: Index
) -> None:
    watches.check(_without(index, tmp_path), now=NOW)  # the backlog: before the watch existed
    watches.add(
        "sanctions on Russian banks", now=datetime.fromisoformat(index.built_at) + timedelta(minutes=5)
    )
    report = watches.check(index, now=NOW)
    assert report.looked_at == 1 and report.matches == ()


def _without(index: Index, tmp_path: Path) -> Index:
    root = tmp_path / "earlier"
    write_corpus(root, background())
    return build_index(root, default_analyzer())[0]


def test_article_dates_use_whole_days(watches: Watches, index: Index) -> None:
    watches.add("sanctions on Russian banks", now=BEFORE - timedelta(days=5))
    edge = replace(SANCTIONS, date=(NOW - timedelta(hours=48)).date())
    assert edge.date == date(2025, 3, 8)
    assert len(watches.match([edge], index, now=NOW)) == 1


def test_naive_times_are_taken_as_utc(watches: Watches, index: Index) -> None:
    watches.add("sanctions on Russian banks", now=BEFORE.replace(tzinfo=None))
    assert len(watches.match([SANCTIONS], index, now=NOW.replace(tzinfo=None))) == 1


def test_an_article_written_before_the_watch_is_backlog_though_a_later_build_first_shows_it(
    tmp_path: Path, watches: Watches
) -> None:
    """A feed poll indexes an article, a member adds a watch, and only then does a check see the
    new version (checks run every few seconds): the article was there before the watch."""
    root = tmp_path / "live"
    write_corpus(root, background())
    first, _ = build_index(root, default_analyzer())
    watches.check(first, now=NOW)  # the backlog
    write_corpus(root, [*background(), replace(SANCTIONS, date=None)])
    second, _ = build_index(root, default_analyzer(), previous=first)
    watches.add("sanctions on Russian banks")  # after the file was written and indexed
    report = watches.check(second)
    assert report.looked_at == 1 and report.matches == ()
