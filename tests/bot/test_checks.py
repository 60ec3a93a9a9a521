"""checks: is_admin / is_mod refuse clearly and accept permissions or configured roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from discord import app_commands

from newsbot.bot.checks import Refused, is_admin, is_mod
from newsbot.settings import Settings
from tests.bot.support import interaction

SETTINGS = Settings(admin_role_ids=frozenset({10}), mod_role_ids=frozenset({20}))


def predicate(decorator: Callable[[Any], Any]) -> Callable[..., bool]:
    """The single check function the decorator attaches."""

    async def command(_interaction: Any) -> None: ...

    checks = decorator(command).__discord_app_commands_checks__
    assert len(checks) == 1
    return checks[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"manage_guild": True},
        {"role_ids": (10,)},
    ],
)
def test_is_admin_accepts_manage_server_or_an_admin_role(kwargs: dict[str, Any]) -> None:
    assert predicate(is_admin())(interaction(settings=SETTINGS, **kwargs)) is True


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"manage_messages": True},
        {"role_ids": (20, 30)},
    ],
)
def test_is_admin_refuses_everyone_else_with_a_clear_reason(kwargs: dict[str, Any]) -> None:
    with pytest.raises(Refused, match="Manage Server"):
        predicate(is_admin())(interaction(settings=SETTINGS, **kwargs))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"manage_messages": True},
        {"manage_guild": True},
        {"role_ids": (20,)},
        {"role_ids": (10,)},
    ],
)
def test_is_mod_accepts_moderators_and_admins(kwargs: dict[str, Any]) -> None:
    assert predicate(is_mod())(interaction(settings=SETTINGS, **kwargs)) is True


def test_is_mod_refuses_plain_members() -> None:
    with pytest.raises(Refused, match="Manage Messages"):
        predicate(is_mod())(interaction(settings=SETTINGS, role_ids=(10_000,)))


@pytest.mark.parametrize("check", [is_admin, is_mod])
def test_checks_refuse_direct_messages(check: Callable[[], Any]) -> None:
    with pytest.raises(app_commands.NoPrivateMessage):
        predicate(check())(interaction(settings=SETTINGS, guild=False, manage_guild=True))


def test_refused_is_a_check_failure() -> None:
    assert issubclass(Refused, app_commands.CheckFailure)


def test_the_everyone_role_never_counts_as_a_configured_role() -> None:
    # The mock interaction's server is 99: role 99 is its @everyone, which every member has.
    settings = Settings(admin_role_ids=frozenset({99}), mod_role_ids=frozenset({99}))
    for check in (predicate(is_admin()), predicate(is_mod())):
        with pytest.raises(Refused):
            check(interaction(role_ids=(99,), settings=settings))
