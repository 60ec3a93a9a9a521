"""Polite, bounded HTTP fetching for feeds and article pages (aiohttp).

One request at a time per host with a spacing between them, a User-Agent naming newsbot, redirects
followed by hand (each hop goes through the SSRF guard again), bodies decompressed here with a cap
on the decompressed size (a gzip bomb stops at the cap), and a deadline on every hop.
"""

from __future__ import annotations

import asyncio
import math
import time
import zlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import aiohttp
from aiohttp.abc import AbstractResolver

from newsbot import __version__
from newsbot.errors import NewsbotError
from newsbot.feeds.guard import BlockedAddress, GuardedConnector, Networks, check_host
from newsbot.feeds.urls import check_url

REPOSITORY = "https://github.com/newsbot/newsbot"
USER_AGENT = f"newsbot/{__version__} (RSS/Atom reader; +{REPOSITORY})"
ROBOTS_AGENT = "newsbot"
_REDIRECTS = (301, 302, 303, 307, 308)
_DISALLOW_ALL = ["User-agent: *", "Disallow: /"]
_KEPT_HEADERS = ("etag", "last-modified", "retry-after", "cache-control", "content-type")


@dataclass(frozen=True)
class Limits:
    """Every bound on a fetch; tests shrink them to stay fast."""

    connect: float = 10.0
    total: float = 30.0  # per request, body included
    feed_bytes: int = 10 * 2**20  # after decompression
    page_bytes: int = 5 * 2**20
    robots_bytes: int = 512 * 2**10
    redirects: int = 5
    host_spacing: float = 1.0  # seconds between two requests to one host
    robots_ttl: float = 24 * 3600.0


class FetchError(NewsbotError):
    """A fetch that failed: the message says why, in words a user can read."""


@dataclass(frozen=True)
class Response:
    status: int
    url: str  # after redirects
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names, _KEPT_HEADERS only
    permanent_url: str | None = None  # the target when every hop was a 301/308


class Fetcher:
    """An aiohttp session behind the guard; use as `async with Fetcher(...) as fetcher`."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        limits: Limits = Limits(),
        user_agent: str = USER_AGENT,
        extra_allowed: Networks = (),
        resolver: AbstractResolver | None = None,
    ) -> None:
        """`extra_allowed`: private networks let through although `allow_private` is off (tests
        use it to reach their own server and nothing else); `resolver`: aiohttp's by default."""
        self.allow_private = allow_private
        self.extra_allowed = extra_allowed
        self.resolver = resolver
        self.limits = limits
        self.user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._hosts: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}
        self._robots: dict[str, tuple[float, RobotFileParser]] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}

    async def __aenter__(self) -> Fetcher:
        self._session = aiohttp.ClientSession(
            connector=GuardedConnector(
                allow_private=self.allow_private,
                extra=self.extra_allowed,
                resolver=self.resolver,
                limit_per_host=1,
            ),
            timeout=aiohttp.ClientTimeout(total=None, connect=self.limits.connect),
            auto_decompress=False,  # decompressed in _read, under the cap
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
            trust_env=False,  # no proxy from the environment: the guard must see the real host
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, url: str, *, max_bytes: int, headers: Mapping[str, str] | None = None) -> Response:
        """GET `url`, following at most `limits.redirects` redirects; FetchError when it fails.

        Any status other than a redirect comes back as a Response (304, 410, 503…): what it means
        is the caller's business.
        """
        assert self._session is not None, "use `async with Fetcher()`"
        current, seen, permanent = check_url(url), set[str](), True
        for _hop in range(self.limits.redirects + 1):
            current = check_url(current)
            if current in seen:
                raise FetchError(f"Redirect loop at {current[:200]}.")
            seen.add(current)
            host = urlsplit(current).hostname or ""
            check_host(host, self.allow_private, self.extra_allowed)
            async with self._slot(host):
                try:
                    async with asyncio.timeout(self.limits.total):
                        async with self._session.get(current, headers=headers, allow_redirects=False) as resp:
                            location = resp.headers.get("Location")
                            if resp.status in _REDIRECTS and location:
                                permanent = permanent and resp.status in (301, 308)
                                current = urljoin(current, location)
                                continue
                            body = await _read(resp, max_bytes)
                            kept = {k: resp.headers[k] for k in _KEPT_HEADERS if k in resp.headers}
                            moved = current if permanent and len(seen) > 1 else None
                            return Response(resp.status, current, body, kept, moved)
                except TimeoutError:
                    raise FetchError(f"{host} took longer than {self.limits.total:g} s to answer.") from None
                except BlockedAddress:
                    raise
                except (aiohttp.ClientError, OSError) as exc:
                    raise FetchError(f"Cannot fetch from {host}: {exc.__class__.__name__}.") from None
        raise FetchError(f"More than {self.limits.redirects} redirects from {url[:200]}.")

    @asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """One request at a time per host, `host_spacing` seconds apart."""
        lock = self._hosts.setdefault(host, asyncio.Lock())
        async with lock:
            wait = self._last.get(host, -math.inf) + self.limits.host_spacing - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                self._last[host] = time.monotonic()

    async def allowed(self, url: str) -> bool:
        """Whether robots.txt lets newsbot fetch this page (cached per site for a day).

        No robots.txt (4xx) allows everything; 401/403, a server error or no answer forbids it,
        as the robots.txt standard (RFC 9309) asks.
        """
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        async with self._robots_locks.setdefault(origin, asyncio.Lock()):
            cached = self._robots.get(origin)
            if cached is None or time.monotonic() - cached[0] > self.limits.robots_ttl:
                cached = (time.monotonic(), await self._robots_txt(origin))
                self._robots[origin] = cached
        return cached[1].can_fetch(ROBOTS_AGENT, url)

    async def _robots_txt(self, origin: str) -> RobotFileParser:
        rules = RobotFileParser()
        try:
            resp = await self.get(origin + "/robots.txt", max_bytes=self.limits.robots_bytes)
        except NewsbotError:
            rules.parse(_DISALLOW_ALL)
            return rules
        if resp.status == 200:
            rules.parse(resp.body.decode("utf-8", "replace").splitlines())
        elif resp.status in (401, 403) or resp.status >= 500:
            rules.parse(_DISALLOW_ALL)
        else:
            rules.parse([])  # no rules: everything allowed
        return rules


async def _read(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body, decompressed, or FetchError as soon as it passes `max_bytes`."""
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
        raise FetchError(f"Unsupported content encoding {encoding[:40]!r}.")
    too_large = FetchError(f"The response is larger than {max_bytes:,} bytes.")
    if encoding in ("identity", "") and (resp.content_length or 0) > max_bytes:
        raise too_large
    inflate = zlib.decompressobj(wbits=47) if encoding not in ("identity", "") else None  # gzip or zlib
    out = bytearray()
    async for chunk in resp.content.iter_chunked(64 * 1024):
        if inflate is None:
            out += chunk
        else:
            data = chunk
            while data and len(out) <= max_bytes:
                try:
                    out += inflate.decompress(data, max_bytes + 1 - len(out))
                except zlib.error:
                    raise FetchError("The response is not valid compressed data.") from None
                data = inflate.unconsumed_tail
        if len(out) > max_bytes:
            raise too_large
    return bytes(out)
