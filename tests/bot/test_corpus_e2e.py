"""`/corpus add` and `/corpus remove` mean what they say (issue 11: #12-#14), end to end in the
home server, over the operator's corpus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from newsbot.engine import Engine
from newsbot.settings import Settings

from .fakediscord import FakeDiscord, InteractionHandle, Upload
from .test_e2e import served, serving

DUPLICATE = {
    "id": "rail-2",
    "title": "Ferry strike halts island crossings",
    "text": "Ferry crews walked out on Tuesday, halting every island crossing for a day.",
    "date": "2024-04-02",
    "source": "Coast Herald",
}


@pytest.fixture
async def home(fake_discord: FakeDiscord, settings: Settings) -> AsyncIterator[FakeDiscord]:
    (settings.corpus_dir / "x-more.jsonl").write_text(json.dumps(DUPLICATE) + "\n")  # rail-2~2
    fake = fake_discord
    home = fake.guild.id
    async with served(fake, serving(fake, settings, dev_guild_id=home, home_guild_id=home), home):
        yield fake


async def done(fake: FakeDiscord, handle: InteractionHandle) -> str:
    """The final content of an admin's reply (a reindex edits it with progress first)."""

    def final() -> str | None:
        original = handle.original or {}
        content = original.get("content") or ""
        if content.startswith("Reindexing") or not (content or original.get("embeds")):
            return None
        return content or "(a report)"

    return await fake.until(final, 20, "the admin's reply")


async def admin(fake: FakeDiscord, name: str, options: dict[str, object]) -> str:
    return await done(fake, await fake.send_interaction(name, options, user=fake.admin))


async def answered(fake: FakeDiscord, question: str) -> str:
    reply = await (await fake.send_interaction("ask", {"question": question})).reply()
    return json.dumps(reply["embeds"])


async def test_a_removed_renamed_duplicate_stays_removed(home: FakeDiscord, settings: Settings) -> None:
    assert "Ferry strike" in await answered(home, "ferry crews island crossing")
    said = await admin(home, "corpus remove", {"article_id": "rail-2~2"})
    assert said.startswith("Removed “Ferry strike halts island crossings” (its id is excluded")
    assert "Ferry strike" not in await answered(home, "ferry crews island crossing")
    await admin(home, "reindex", {"full": True})
    assert "Ferry strike" not in await answered(home, "ferry crews island crossing")
    assert (settings.corpus_dir / "x-more.jsonl").is_file()  # the operator's file is kept


async def test_the_operators_files_are_never_deleted(home: FakeDiscord, settings: Settings) -> None:
    seed = next(settings.corpus_dir.glob("000_*.txt"))
    said = await admin(home, "corpus remove", {"article_id": seed.stem})
    assert "no file was deleted" in said
    assert seed.is_file()
    assert "Kadyrov" not in await answered(home, "who was sanctioned?")


async def test_an_upload_cannot_claim_an_existing_or_removed_id(home: FakeDiscord) -> None:
    await admin(home, "corpus remove", {"article_id": "harbour-1"})
    for taken in ("harbour-1", "rail-2"):
        claim = {
            "id": taken,
            "title": "Fake news",
            "text": "A poisoned article about the harbour solar farm.",
        }
        said = await admin(home, "corpus add", {"file": Upload("claim.jsonl", json.dumps(claim).encode())})
        assert f"The id “{taken}” is already used" in said
    assert "poisoned" not in await answered(home, "harbour solar farm")


async def test_removing_an_upload_deletes_it_only_while_it_holds_that_article(
    home: FakeDiscord, settings: Settings
) -> None:
    one = {
        "id": "kite-1",
        "title": "Kite festival returns",
        "text": "The kite festival returned to the dunes.",
    }
    said = await admin(home, "corpus add", {"file": Upload("kites.jsonl", json.dumps(one).encode())})
    assert said.startswith("Added “Kite festival returns”")
    upload = settings.corpus_dir / "uploads" / "kites.jsonl"
    said = await admin(home, "corpus remove", {"article_id": "kite-1"})
    assert "deleted the uploaded file `uploads/kites.jsonl`" in said and not upload.exists()

    two = {"id": "kite-2", "title": "Kite record", "text": "A kite flew for a record nine hours."}
    await admin(home, "corpus add", {"file": Upload("kites2.jsonl", json.dumps(two).encode())})
    grown = settings.corpus_dir / "uploads" / "kites2.jsonl"
    extra = {"id": "kite-3", "title": "Kite club", "text": "The kite club opened a workshop."}
    grown.write_text(grown.read_text() + json.dumps(extra) + "\n")  # gained an unindexed article
    said = await admin(home, "corpus remove", {"article_id": "kite-2"})
    assert "no file was deleted" in said and grown.is_file()


async def test_simultaneous_uploads_are_all_kept(home: FakeDiscord, settings: Settings) -> None:
    articles = [
        {
            "id": f"fair-{n}",
            "title": f"County fair day {n}",
            "text": f"Day {n} of the county fair drew crowds.",
        }
        for n in range(4)
    ]
    handles = await asyncio.gather(
        *(
            home.send_interaction(
                "corpus add", {"file": Upload("fair.jsonl", json.dumps(a).encode())}, user=home.admin
            )
            for a in articles
        )
    )
    said = [await done(home, h) for h in handles]
    assert all(s.startswith("Added “County fair day") for s in said), said
    saved = sorted(p.name for p in (settings.corpus_dir / "uploads").iterdir())
    assert saved == ["fair-2.jsonl", "fair-3.jsonl", "fair-4.jsonl", "fair.jsonl"]
    await admin(home, "reindex", {})
    for a in articles:
        assert a["title"] in await answered(home, f"{a['title']} county fair crowds")


async def test_names_and_copies_land_where_the_index_sees_them(home: FakeDiscord, settings: Settings) -> None:
    long_name = "a" * 300 + ".txt"
    said = await admin(
        home, "corpus add", {"file": Upload(long_name, b"Glacier retreat measured\n\nThe glacier retreated.")}
    )
    assert said.startswith("Added")
    [saved] = (settings.corpus_dir / "uploads").iterdir()
    assert not saved.name.startswith(".") and saved.suffix == ".txt" and len(saved.name) <= 100
    # A plain-text copy under the same name does not displace the richer original.
    rich = b"---\ntitle: Owl census\nsource: Coast Herald\n---\nVolunteers counted barn owls in the valley."
    await admin(home, "corpus add", {"file": Upload("owls.md", rich)})
    await admin(home, "corpus add", {"file": Upload("owls.txt", b"Owls\n\nA plain copy about barn owls.")})
    assert "Owl census" in await answered(home, "barn owls counted volunteers valley")
    assert Path(settings.corpus_dir / "uploads" / "owls.md").is_file()


async def test_reindex_never_switches_corpus(
    fake_discord: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    Engine.open(settings)  # the index holds the tests' corpus
    other = tmp_path / "other"
    other.mkdir()
    (other / "one.txt").write_text("Moon landing\n\nAstronauts landed on the moon.")
    fake = fake_discord
    home = fake.guild.id
    moved = serving(fake, settings, dev_guild_id=home, home_guild_id=home, corpus_dir=other)
    async with served(fake, moved, home):
        said = await admin(fake, "reindex", {})
        assert "holds the corpus" in said and "--replace" in said and str(tmp_path) not in said
        assert "Kadyrov" in await answered(fake, "who was sanctioned?")


async def test_ask_until_a_month_means_through_its_last_day(home: FakeDiscord) -> None:
    reply = await (
        await home.send_interaction("ask", {"question": "chess championship", "until": "2023-11"})
    ).reply()
    assert "Marlow" in json.dumps(reply["embeds"])  # the article of 2023-11-12


async def test_a_copy_of_an_indexed_text_is_refused_not_displacing_it(home: FakeDiscord) -> None:
    copy = {"id": "copy-1", "title": "Ferry copy", "text": DUPLICATE["text"]}
    said = await admin(home, "corpus add", {"file": Upload("copy.jsonl", json.dumps(copy).encode())})
    assert (
        said == "The text of “Ferry copy” is already in the corpus, as article “rail-2~2”: nothing was added."
    )
    assert "Ferry strike halts" in await answered(home, "ferry crews island crossing")
