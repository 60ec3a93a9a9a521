"""Fixtures for the Discord-facing tests: a fake Discord the real discord.py client talks to."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from discord.http import Route

from .fakediscord import FakeDiscord


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A running fake Discord. The test fails if the bot used a route the fake does not
    know or sent something Discord would refuse (see `fake.errors`)."""
    monkeypatch.setattr(Route, "BASE", Route.BASE)  # apply_endpoints sets it process wide
    async with FakeDiscord() as fake:
        yield fake
    assert not fake.unknown_routes, f"routes the fake does not know: {fake.unknown_routes}"
    assert not fake.errors, f"requests Discord would refuse: {fake.errors}"
