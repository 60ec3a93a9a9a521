"""The SSRF guard: feeds are added by Discord admins, who do not own the machine newsbot runs on.

Every address a connection would go to is checked when the connection is made (after DNS, so a
name that resolves to a private address, or re-resolves to one later, is refused too), for the
first URL and for every redirect hop. Only globally routable unicast addresses pass, unless the
operator allows private ones (NEWSBOT_FEEDS_ALLOW_PRIVATE); link-local ones never do.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

import aiohttp
from aiohttp.abc import ResolveResult

from newsbot.errors import NewsbotError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

# Ranges that `is_global` lets through but that reach (or translate to) an address we refuse.
_TRANSLATED = (
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("2002::/16"),  # 6to4
    ipaddress.ip_network("2001::/32"),  # Teredo
)


class BlockedAddress(NewsbotError):
    """A URL whose host is, or resolves to, a non-public address."""


def parse_host(host: str) -> IPAddress | None:
    """The address a host names literally, in any form a resolver accepts, or None for a name.

    `socket.inet_aton` reads the old forms too (`127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`),
    which is exactly what the system resolver would connect to.
    """
    host = host.strip().strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def is_public(ip: IPAddress) -> bool:
    """Only a global unicast address, never one that maps or tunnels to another."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None or ip.sixtofour is not None or ip.teredo is not None:
            return False
        if any(ip in net for net in _TRANSLATED):
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_unspecified


def allowed(ip: IPAddress, allow_private: bool = False, extra: Networks = ()) -> bool:
    """Public, or private but allowed (everything, or the `extra` networks only). Link-local
    addresses (cloud metadata at 169.254.169.254) are never allowed: no feed lives there."""
    if ip.is_link_local or (isinstance(ip, ipaddress.IPv6Address) and _mapped_link_local(ip)):
        return False
    return allow_private or is_public(ip) or any(ip in net for net in extra)


def _mapped_link_local(ip: ipaddress.IPv6Address) -> bool:
    return ip.ipv4_mapped is not None and ip.ipv4_mapped.is_link_local


def check_host(host: str, allow_private: bool = False, extra: Networks = ()) -> None:
    """BlockedAddress when `host` is a literal address that is not allowed."""
    ip = parse_host(host)
    if ip is not None and not allowed(ip, allow_private, extra):
        raise BlockedAddress(f"{host} is not a public address; newsbot does not fetch from it.")


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector that drops every resolved address that is not public before connecting."""

    def __init__(self, *, allow_private: bool = False, extra: Networks = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allow_private = allow_private
        self.extra = extra

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        check_host(host, self.allow_private, self.extra)
        results = await super()._resolve_host(host, port, traces)
        kept = [
            r
            for r in results
            if (ip := parse_host(r["host"])) is not None and allowed(ip, self.allow_private, self.extra)
        ]
        if not kept:
            raise BlockedAddress(f"{host} resolves to no public address; newsbot does not fetch from it.")
        return kept
