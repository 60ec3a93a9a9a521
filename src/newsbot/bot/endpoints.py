"""Point a discord.py client at another REST base and gateway: a proxy, or a fake Discord in tests.

discord.py 2.7 has no option for either, so this uses the two narrowest hooks it offers:

* REST: every URL is `Route.BASE + path`, built when a `Route` is created, both by the
  client's `HTTPClient` and by the webhook adapter that sends interaction responses and
  followups (it shares the client's aiohttp session but not its `request`). `Route.BASE` is
  the only place both read, so it is set there; it is process wide.
* Gateway: every gateway connection goes through `client.http.ws_connect(url)`: the first
  one (`DiscordWebSocket.DEFAULT_GATEWAY`), resumes (READY's `resume_gateway_url`) and
  reconnects after an invalid session. Wrapping that method on this client's `HTTPClient`
  moves all of them to the override, per client, keeping discord.py's query (`v`, `encoding`,
  `compress`) so the protocol is the one discord.py expects.
"""

from __future__ import annotations

import aiohttp
import discord
import yarl
from discord.http import HTTPClient, Route

from newsbot.errors import ConfigError


def apply_endpoints(client: discord.Client, api_base: str | None, gateway_url: str | None) -> None:
    """Send `client`'s REST calls to `api_base` and its gateway to `gateway_url`, before login.

    None (or empty) leaves that side alone, so Discord's own endpoints stay in use.
    """
    if api_base:
        if yarl.URL(api_base).scheme not in ("http", "https"):
            raise ConfigError(f"DISCORD_API_BASE={api_base!r} must be an http(s) URL")
        # A class attribute, so this moves every client in the process; discord.py offers no
        # per-client base (its own `_set_api_version` sets this very attribute).
        Route.BASE = api_base.rstrip("/")
    if gateway_url:
        target = yarl.URL(gateway_url)
        if target.scheme not in ("ws", "wss"):
            raise ConfigError(f"DISCORD_GATEWAY_URL={gateway_url!r} must be a ws(s) URL")
        _route_gateway(client.http, target)


def _route_gateway(http: HTTPClient, target: yarl.URL) -> None:
    connect = http.ws_connect

    async def ws_connect(url: str, *, compress: int = 0) -> aiohttp.ClientWebSocketResponse:
        return await connect(str(rebase_gateway(yarl.URL(url), target)), compress=compress)

    http.ws_connect = ws_connect  # type: ignore[method-assign]  # per client, see the docstring


def rebase_gateway(url: yarl.URL, target: yarl.URL) -> yarl.URL:
    """`url` moved to `target`, if it is a main gateway URL (voice ones are left alone).

    discord.py always puts `encoding` in the main gateway's query and never in voice's.
    """
    if "encoding" not in url.query:
        return url
    return target.update_query(url.query)
