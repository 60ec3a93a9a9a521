"""A fake Discord on 127.0.0.1 that the real discord.py client logs in to.

Start it with the `fake_discord` fixture (tests/bot/conftest.py), which also fails the test
if the bot hit a route the fake does not know (`fake.unknown_routes`) or sent something
Discord would refuse (`fake.errors`), and restores `Route.BASE` afterwards::

    async def test_ask(fake_discord: FakeDiscord, settings: Settings) -> None:
        fake = fake_discord
        bot = NewsBot(replace(settings, dev_guild_id=fake.guild.id), engine=..., querylog=...)
        async with run_bot(bot, fake):        # apply_endpoints + start + wait for the guilds
            ...                               # bot.close() on exit

(or `async with FakeDiscord() as fake:` by hand). `run_bot` points the bot at
`fake.api_base` / `fake.gateway_url`, logs in with `fake.token`, and returns once every fake
guild is in `bot.guilds`. With `dev_guild_id=fake.guild.id` the bot's setup_hook syncs its
commands to the fake guild; `send_interaction` then sends them as guild commands.

The world: `fake.guild` ("Newsroom": `fake.channel` = #general, #mod-log via
`fake.guild.channel("mod-log")`, roles @everyone, Admin (Manage Server), Mod (Manage
Messages) via `fake.guild.role("Admin")`), users `fake.bot_user`, `fake.owner`, `fake.admin`,
`fake.mod` and `fake.member` (who acts unless `user=` says otherwise).

Act as a user and await the bot (every wait takes `timeout=5.0`, and times out listing the
last requests; messages are Discord's JSON dicts, live: later edits show)::

    h = await fake.send_interaction("ask", {"question": "solar farm"}, user=fake.admin)
    msg = await h.reply()        # the answer: after a type 4 callback, or a defer (5) then
    msg["content"], msg["embeds"], msg["flags"] & 64   # an edit of @original / first followup
    h.callback                   # {"type": 4 | 5 | 9 ..., "data": {...}}; h.callbacks, h.original
    await h.followup(2)          # the 2nd followup message; h.followups
    await fake.send_interaction("corpus add", {"file": Upload("a.txt", b"...")})  # attachment
    ac = await fake.send_autocomplete("ask", {"question": "", "source": "Dai"}, focused="source")
    await ac.choices()           # [{"name": ..., "value": ...}]
    click = await fake.send_component("more")   # on the latest bot message with that custom_id
    opened = await fake.send_interaction("feedback")   # the bot answers with a modal (type 9)
    await fake.send_modal_submit(opened, {"comment": "wrong date"})
    m = await fake.send_message(f"{fake.bot_user.mention} who won?")
    await m.reply(); m.reactions # the bot's next message in that channel; emoji it added
    await fake.send_reaction(msg, "👎")   # a user reacts to a bot message

DMs: the bot opens a DM channel (`POST /users/@me/channels`) and posts in it; `fake.dms(user)`
lists what it sent that user, and a user in `fake.closed_dms` refuses them as Discord does (403,
code 50007, "Cannot send messages to this user"). A channel id in `fake.muted_channels` refuses
the bot's posts (403, 50013, "Missing Permissions"), as a permission taken away would.

Inspect: `fake.requests` (every `Request(method, path, query, json, files)`, path relative to
/api/v10), `fake.find_requests("PUT", r"/applications/\\d+/guilds/\\d+/commands")`,
`await fake.wait_for_request(method, path_regex, n=1)`, `fake.messages` (id -> message),
`fake.commands` (guild id, or None for global -> synced commands), `fake.gateway.connections`
(path, query, identify payload, presences, resumed). `await fake.request_reconnect()` makes
the bot reconnect and resume.

Shards: `FakeDiscord(shard_count=2, guild_names=("A", "B"))` puts guild i on shard i % 2 (its
id chosen so that `(id >> 22) % 2` is), wants `"shard": [id, 2]` in every IDENTIFY, gives each
connection only its shard's guilds and sends a guild's events on its shard
(`fake.gateway.shards[i]`, `fake.gateway.session_for(guild_id)`); GET /gateway/bot says 2.
`fake.add_user(name)` adds a member to every guild (many askers); `send_interaction(...,
settle=False)` does not wait for the bot's other requests (users at once, for load).

Discord's rules a bot could break are kept: 2000-character content and the embed limits,
no empty messages, one callback per interaction and only the types its kind allows,
`default_member_permissions` hiding a command (PermissionError), no message content without
the Message Content intent unless the bot is mentioned, and no members but the bot's own in
GUILD_CREATE without the presences intent. Who a message pings (`mention_everyone`,
`mentions`, `mention_roles`) is worked out as Discord does: from its content, never its
embeds, as far as its `allowed_mentions` let it (`tests/bot/support.pings` lists any ping).
A user action first waits until the bot's pending requests are answered, as a human could
not click faster.
"""

from .interactions import InteractionHandle, MessageHandle, Upload
from .payloads import Channel, Guild, Role, User
from .rest import Request, UploadedFile
from .runner import run_bot
from .server import FakeDiscord

__all__ = [
    "Channel",
    "FakeDiscord",
    "Guild",
    "InteractionHandle",
    "MessageHandle",
    "Request",
    "Role",
    "Upload",
    "UploadedFile",
    "User",
    "run_bot",
]
