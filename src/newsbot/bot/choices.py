"""Autocomplete suggestions, within Discord's limits for them."""

from __future__ import annotations

from collections.abc import Iterable

from discord import app_commands

MAX_CHOICES = 25  # Discord's limit for autocomplete suggestions
MAX_CHOICE_CHARS = 100  # and for each suggestion's name and value


def matching(typed: str, names: Iterable[str]) -> list[app_commands.Choice[str]]:
    """The names that contain what was typed (case ignored), as suggestions; names too long to
    be a choice's value are left out rather than cut (a cut value would name nothing)."""
    wanted = typed.casefold().strip()
    return [
        app_commands.Choice(name=name, value=name)
        for name in names
        if wanted in name.casefold() and len(name) <= MAX_CHOICE_CHARS
    ][:MAX_CHOICES]
