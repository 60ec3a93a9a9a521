"""The SSRF guard: every forbidden address form is refused before any connection is made."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from newsbot.feeds.fetch import Fetcher, Limits
from newsbot.feeds.guard import BlockedAddress, is_public, parse_host
from newsbot.feeds.urls import BadFeedUrl
from tests.feeds.conftest import FAST, LOCAL
from tests.feeds.server import FeedServer


class Listener:
    """A listening socket that must never see a connection."""

    def __init__(self, family: socket.AddressFamily, host: str, port: int = 0) -> None:
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.port: int = self.sock.getsockname()[1]

    def connections(self) -> int:
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1


@pytest.fixture
def v4() -> Iterator[Listener]:
    listener = Listener(socket.AF_INET, "0.0.0.0")  # 127.0.0.1 and 0.0.0.0 both reach it
    yield listener
    listener.sock.close()


@pytest.fixture
def v6(v4: Listener) -> Iterator[Listener | None]:
    try:
        listener = Listener(socket.AF_INET6, "::1", v4.port)
    except OSError:
        yield None
        return
    yield listener
    listener.sock.close()


FORMS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "0.0.0.0",
    "0",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::]",
    "localhost",
    "127.0.0.1.",
]


@pytest.mark.parametrize("host", FORMS)
async def test_every_loopback_form_is_refused_without_a_connection(
    host: str, v4: Listener, v6: Listener | None
) -> None:
    async with Fetcher(limits=FAST) as fetcher:
        with pytest.raises(BlockedAddress):
            await fetcher.get(f"http://{host}:{v4.port}/feed", max_bytes=1000)
    assert v4.connections() == 0
    assert v6 is None or v6.connections() == 0


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "10.255.255.254",
        "172.16.0.1",
        "172.31.255.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "[fc00::1]",
        "[fd12:3456::1]",
        "[fe80::1]",
        "224.0.0.1",
        "255.255.255.255",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
        "198.18.0.1",
    ],
)
async def test_private_and_special_networks_are_refused(host: str) -> None:
    async with Fetcher(limits=FAST) as fetcher:
        with pytest.raises(BlockedAddress):
            await fetcher.get(f"http://{host}/latest/meta-data/", max_bytes=1000)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1:{port}/feed",
        "gopher://127.0.0.1:{port}/",
        "https://admin:secret@example.org/feed",
        "http://example.org@127.0.0.1:{port}/feed",
        "http://:@127.0.0.1:{port}/feed",
    ],
)
async def test_other_schemes_and_userinfo_are_refused(url: str, v4: Listener) -> None:
    async with Fetcher(limits=FAST, allow_private=True) as fetcher:  # refused even so
        with pytest.raises(BadFeedUrl):
            await fetcher.get(url.format(port=v4.port), max_bytes=10)
    assert v4.connections() == 0


def test_public_addresses_pass() -> None:
    for text in ("93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"):
        ip = parse_host(text)
        assert ip is not None and is_public(ip)
    assert parse_host("example.org") is None  # a name: checked after resolution


async def test_every_redirect_hop_is_guarded(server: FeedServer) -> None:
    """Our server (allowed) redirects to another loopback address and to the metadata service."""
    other = Listener(socket.AF_INET, "127.0.0.2")
    try:
        for target in (f"http://127.0.0.2:{other.port}/x", "http://169.254.169.254/latest/meta-data/"):
            server.serve("/hop", "", status=302, Location=target)
            async with Fetcher(limits=FAST, extra_allowed=LOCAL) as fetcher:
                with pytest.raises(BlockedAddress):
                    await fetcher.get(server.url("/hop"), max_bytes=1000)
        assert other.connections() == 0
    finally:
        other.sock.close()


class Rebinding(AbstractResolver):
    """A public-looking name whose DNS answer is a private address (as after DNS rebinding)."""

    def __init__(self) -> None:
        self.calls = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls += 1
        address = "127.0.0.2"
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        return None


async def test_names_resolving_to_private_addresses_are_refused_at_connect_time() -> None:
    other = Listener(socket.AF_INET, "127.0.0.2")
    resolver = Rebinding()
    try:
        async with Fetcher(limits=FAST, extra_allowed=LOCAL, resolver=resolver) as fetcher:
            with pytest.raises(BlockedAddress):
                await fetcher.get(f"http://news.example:{other.port}/feed", max_bytes=1000)
        assert resolver.calls >= 1 and other.connections() == 0
    finally:
        other.sock.close()


@pytest.mark.parametrize("host", ["169.254.169.254", "[fe80::1]", "[::ffff:169.254.169.254]"])
async def test_link_local_is_refused_even_when_private_addresses_are_allowed(host: str) -> None:
    async with Fetcher(limits=FAST, allow_private=True) as fetcher:
        with pytest.raises(BlockedAddress):
            await fetcher.get(f"http://{host}/latest/meta-data/", max_bytes=1000)


async def test_allow_private_lets_the_operator_fetch_local_feeds(server: FeedServer) -> None:
    server.serve("/feed", "ok")
    async with Fetcher(limits=Limits(host_spacing=0), allow_private=True) as fetcher:
        assert (await fetcher.get(server.url("/feed"), max_bytes=100)).body == b"ok"
    async with Fetcher(limits=FAST) as fetcher:
        with pytest.raises(BlockedAddress):
            await fetcher.get(server.url("/feed"), max_bytes=100)
    assert len(server.hits("/feed")) == 1
    assert ipaddress.ip_address("127.0.0.1") in LOCAL[0]
