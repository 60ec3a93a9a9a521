"""The fake gateway: a websocket that speaks Discord's v10 JSON protocol to a real discord.py client.

HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME (replaying what was missed) and
op 9 for unknown sessions, as Discord does. With `FakeDiscord(shard_count=N)` each connection
identifies as one shard (`"shard": [id, N]`, else close 4011 "Sharding required") and gets only
the guilds Discord routes to it, `(guild_id >> 22) % N == id`; events go to their guild's shard.

discord.py 2.7 always asks for transport compression (`compress=zlib-stream`, or `zstd-stream`
with zstandard installed) and offers no switch; the fake answers with plain text frames, which
discord.py parses without decompressing, so no compression is implemented here.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .payloads import JSON, guild_payload, member_payload, user_payload
from .rest import Handler

if TYPE_CHECKING:
    from .server import FakeDiscord

# Gateway intents the fake checks.
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

COMPRESSIONS = (None, "zlib-stream", "zstd-stream")


@dataclass
class Session:
    """A gateway session: survives its connection, so a RESUME can replay what was missed."""

    id: str
    intents: int
    shard: int = 0
    seq: int = 0
    sent: list[JSON] = field(default_factory=list)
    connection: Connection | None = None


@dataclass
class Connection:
    """One websocket the client opened, with what it sent on it (for assertions)."""

    path: str
    query: dict[str, str]
    ws: web.WebSocketResponse
    identify: JSON | None = None
    resumed: bool = False
    closed: bool = False
    presences: list[JSON] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, frame: JSON) -> None:
        async with self.lock:
            if not self.ws.closed:
                await self.ws.send_str(json.dumps(frame))


class FakeGateway:
    """Serves `/` (what the client is told to connect to) and `/resume` (READY's resume URL)."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.connections: list[Connection] = []
        self.sessions: dict[str, Session] = {}
        self.session: Session | None = None  # the latest identified one
        self.shards: dict[int, Session] = {}  # shard id -> its latest identified session
        self.app = web.Application(middlewares=[self.unknown_route])
        self.app.router.add_get("/", self.handle)
        self.app.router.add_get("/resume", self.handle)

    @web.middleware
    async def unknown_route(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.http_exception is not None:
            self.fake.unknown_routes.append(f"{request.method} {request.path} (gateway)")
            self.fake.notify()
        return await handler(request)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = Connection(request.path, dict(request.query), ws)
        self.connections.append(conn)
        self.fake.notify()
        query = request.query
        if (
            query.get("v") != "10"
            or query.get("encoding") != "json"
            or query.get("compress") not in COMPRESSIONS
        ):
            self.fake.error(f"gateway connected with an unsupported query: {dict(query)}")
            await ws.close(code=4012, message=b"Invalid API version or encoding.")
            return ws
        await conn.send(
            {"op": 10, "d": {"heartbeat_interval": self.fake.heartbeat_interval_ms}, "s": None, "t": None}
        )
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    self.fake.error(f"gateway got a {msg.type.name} frame; only JSON text is spoken")
                    continue
                await self.on_frame(conn, json.loads(msg.data))
        finally:
            conn.closed = True
            for session in self.sessions.values():
                if session.connection is conn:
                    session.connection = None
            self.fake.notify()
        return ws

    async def on_frame(self, conn: Connection, frame: JSON) -> None:
        op, data = frame.get("op"), frame.get("d") or {}
        if op == 1:
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self.identify(conn, data)
        elif op == 6:
            await self.resume(conn, data)
        elif op == 3:
            conn.presences.append(data)
        elif op == 8:
            await self.members_chunk(conn, data)
        else:
            self.fake.error(f"gateway got op {op}, which the fake does not handle: {frame}")

    async def identify(self, conn: Connection, data: JSON) -> None:
        conn.identify = data
        if data.get("token") != self.fake.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.fake.privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        fake = self.fake
        shard, count = data.get("shard") or (0, 1)
        if count != fake.shard_count:
            if count == 1:
                await conn.ws.close(code=4011, message=b"Sharding required.")
                return
            fake.error(f"a shard identified as {shard} of {count}; the fake serves {fake.shard_count}")
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        if not 0 <= shard < count:
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        session = Session(f"session-{fake.new_id()}", intents, shard=shard, connection=conn)
        self.sessions[session.id] = self.session = self.shards[shard] = session
        guilds = [g for g in fake.guilds if fake.shard_of(g.id) == shard]
        ready = {
            "v": 10,
            "user": {**user_payload(fake.bot_user), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "resume_gateway_url": f"{fake.gateway_url}resume",
            "application": {"id": str(fake.application_id), "flags": fake.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "_trace": ["fakediscord"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self.dispatch("READY", ready, session=session)
        for guild in guilds:
            await self.dispatch(
                "GUILD_CREATE",
                guild_payload(guild, all_members=bool(intents & GUILD_PRESENCES)),
                session=session,
            )
        fake.notify()

    async def resume(self, conn: Connection, data: JSON) -> None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or data.get("token") != self.fake.token:
            await conn.send({"op": 9, "d": False, "s": None, "t": None})
            return
        session.connection, conn.resumed = conn, True
        for frame in session.sent:
            if frame["s"] > (data.get("seq") or 0):
                await conn.send(frame)
        await self.dispatch("RESUMED", {"_trace": ["fakediscord"]}, session=session)
        self.fake.notify()

    async def members_chunk(self, conn: Connection, data: JSON) -> None:
        guild = self.fake.guild_by_id(int(data["guild_id"]))
        members = [member_payload(guild, m.user) for m in guild.members] if guild else []
        await self.dispatch(
            "GUILD_MEMBERS_CHUNK",
            {
                "guild_id": data["guild_id"],
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
                "nonce": data.get("nonce"),
            },
            guild_id=int(data["guild_id"]),
        )

    def session_for(self, guild_id: int) -> Session | None:
        """The session of the shard that serves this guild, once it has identified."""
        return self.shards.get(self.fake.shard_of(guild_id))

    async def dispatch(
        self,
        event: str,
        data: Any,
        *,
        intent: int = 0,
        session: Session | None = None,
        guild_id: int | None = None,
    ) -> bool:
        """Send a DISPATCH on `session`, else that of `guild_id`'s shard, else the latest one;
        False if its intents do not cover `intent`.

        While the client is away the event is kept, and replayed when it resumes.
        """
        if session is None:
            session = self.session if guild_id is None else self.session_for(guild_id)
        if session is None:
            where = "" if guild_id is None else f" on the shard of guild {guild_id}"
            raise RuntimeError(f"the bot has not identified to the fake gateway{where} yet")
        if intent and not session.intents & intent:
            return False
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.sent.append(frame)
        if session.connection is not None:
            await session.connection.send(frame)
        return True

    async def request_reconnect(self) -> None:
        """Send op 7 (RECONNECT) on the live connection, as Discord does before maintenance."""
        if self.session is None or self.session.connection is None:
            raise RuntimeError("no live gateway connection to ask to reconnect")
        await self.session.connection.send({"op": 7, "d": None, "s": None, "t": None})

    async def close(self) -> None:
        for conn in self.connections:
            if not conn.ws.closed:
                await conn.ws.close(code=1001, message=b"fake discord stopping")
