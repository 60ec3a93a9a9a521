from __future__ import annotations

import asyncio
import itertools
import zlib

import pytest
from aiohttp import web

from newsbot.feeds.fetch import USER_AGENT, Fetcher, FetchError, Limits
from tests.feeds.conftest import LOCAL
from tests.feeds.server import FeedServer, gzipped


async def test_user_agent_names_newsbot(server: FeedServer, fetcher: Fetcher) -> None:
    server.serve("/a", "hello")
    resp = await fetcher.get(server.url("/a"), max_bytes=100)
    assert (resp.status, resp.body) == (200, b"hello")
    agent = server.hits("/a")[0].headers["User-Agent"]
    assert agent == USER_AGENT and agent.startswith("newsbot/") and "+https://" in agent


async def test_redirects_are_followed_and_permanence_reported(server: FeedServer, fetcher: Fetcher) -> None:
    server.serve("/final", "feed")
    server.serve("/moved", "", status=301, Location="/final")
    server.serve("/perm", "", status=308, Location=server.url("/moved"))
    server.serve("/temp", "", status=302, Location="/moved")
    resp = await fetcher.get(server.url("/perm"), max_bytes=100)
    assert resp.body == b"feed" and resp.url == server.url("/final") and resp.permanent_url == resp.url
    temp = await fetcher.get(server.url("/temp"), max_bytes=100)
    assert temp.body == b"feed" and temp.permanent_url is None  # one hop was temporary


async def test_redirect_loops_and_long_chains_fail(server: FeedServer, fetcher: Fetcher) -> None:
    server.serve("/a", "", status=302, Location="/b")
    server.serve("/b", "", status=302, Location="/a")
    with pytest.raises(FetchError, match="loop"):
        await fetcher.get(server.url("/a"), max_bytes=100)
    for n in range(7):
        server.serve(f"/r{n}", "", status=301, Location=f"/r{n + 1}")
    server.serve("/r7", "end")
    server.serve("/r2", "", status=301, Location="/r3")
    with pytest.raises(FetchError, match="More than 5 redirects"):
        await fetcher.get(server.url("/r0"), max_bytes=100)
    assert (await fetcher.get(server.url("/r2"), max_bytes=100)).body == b"end"  # exactly 5


async def test_error_statuses_come_back_to_the_caller(server: FeedServer, fetcher: Fetcher) -> None:
    for status in (304, 410, 429, 503):
        server.serve(f"/s{status}", "", status=status, **{"Retry-After": "120"})
        resp = await fetcher.get(server.url(f"/s{status}"), max_bytes=100)
        assert resp.status == status and resp.headers["retry-after"] == "120"


async def test_slow_drip_hits_the_total_timeout(server: FeedServer) -> None:
    async def drip(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        try:
            for _ in range(200):
                await resp.write(b"<")
                await asyncio.sleep(0.05)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    server.routes["/drip"] = drip
    async with Fetcher(limits=Limits(total=0.4, host_spacing=0), extra_allowed=LOCAL) as fetcher:
        with pytest.raises(FetchError, match=r"longer than 0\.4 s"):
            await fetcher.get(server.url("/drip"), max_bytes=10_000)


async def test_oversized_bodies_are_refused(server: FeedServer, fetcher: Fetcher) -> None:
    server.serve("/big", b"x" * 5000)

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()  # no Content-Length: only counting can stop it
        await resp.prepare(request)
        for _ in range(50):
            await resp.write(b"y" * 1000)
        return resp

    server.routes["/chunked"] = chunked
    for path in ("/big", "/chunked"):
        with pytest.raises(FetchError, match="larger than 4,096 bytes"):
            await fetcher.get(server.url(path), max_bytes=4096)
    assert len((await fetcher.get(server.url("/big"), max_bytes=5000)).body) == 5000


async def test_gzip_bomb_is_refused_after_decompression(server: FeedServer, fetcher: Fetcher) -> None:
    bomb = gzipped(b"\0" * (64 * 2**20))  # 64 MiB of zeros in ~64 KB
    assert len(bomb) < 100_000
    server.serve("/bomb", bomb, **{"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="larger than"):
        await fetcher.get(server.url("/bomb"), max_bytes=2**20)
    small = b"<rss>" + b"a" * 1000 + b"</rss>"
    server.serve("/gz", gzipped(small), **{"Content-Encoding": "gzip"})
    server.serve("/zlib", zlib.compress(small), **{"Content-Encoding": "deflate"})
    assert (await fetcher.get(server.url("/gz"), max_bytes=2**20)).body == small
    assert (await fetcher.get(server.url("/zlib"), max_bytes=2**20)).body == small
    server.serve("/br", b"??", **{"Content-Encoding": "br"})
    with pytest.raises(FetchError, match="encoding"):
        await fetcher.get(server.url("/br"), max_bytes=100)


async def test_one_request_at_a_time_per_host(server: FeedServer, fetcher: Fetcher) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.02)
        return web.Response(text="ok")

    server.routes["/slow"] = slow
    await asyncio.gather(*(fetcher.get(server.url("/slow"), max_bytes=10) for _ in range(6)))
    assert len(server.hits("/slow")) == 6 and server.most_in_flight == 1


async def test_requests_to_one_host_are_spaced(server: FeedServer) -> None:
    server.serve("/a", "ok")
    async with Fetcher(limits=Limits(host_spacing=0.15), extra_allowed=LOCAL) as fetcher:
        await asyncio.gather(*(fetcher.get(server.url("/a"), max_bytes=10) for _ in range(3)))
    arrivals = [r.at for r in server.hits("/a")]
    assert len(arrivals) == 3
    assert all(later - earlier >= 0.15 for earlier, later in itertools.pairwise(arrivals))


async def test_robots_txt_is_honoured_and_cached(server: FeedServer, fetcher: Fetcher) -> None:
    server.serve(
        "/robots.txt", "User-agent: *\nDisallow: /private/\n\nUser-agent: newsbot\nDisallow: /nobots/\n"
    )
    assert await fetcher.allowed(server.url("/news/1"))
    assert not await fetcher.allowed(server.url("/nobots/1"))
    assert await fetcher.allowed(server.url("/private/1"))  # the newsbot group overrides `*`
    assert len(server.hits("/robots.txt")) == 1


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (403, False), (500, False)])
async def test_robots_txt_missing_or_failing(status: int, allowed: bool, server: FeedServer) -> None:
    server.serve("/robots.txt", "", status=status)
    async with Fetcher(limits=Limits(host_spacing=0), extra_allowed=LOCAL) as fetcher:
        assert await fetcher.allowed(server.url("/news/1")) is allowed
