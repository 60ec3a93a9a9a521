"""The real discord.py client against the fake Discord, and `apply_endpoints` on its own."""

from __future__ import annotations

import io

import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands
from discord.http import Route

from newsbot.bot.endpoints import apply_endpoints, rebase_gateway
from newsbot.errors import ConfigError

from .fakediscord import FakeDiscord, Upload, run_bot


class Counter(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.clicks = 0

    @discord.ui.button(label="+1", custom_id="count")
    async def count(self, interaction: discord.Interaction, button: discord.ui.Button[Counter]) -> None:
        self.clicks += 1
        await interaction.response.edit_message(content=f"clicks: {self.clicks}", view=self)


class Feedback(discord.ui.Modal, title="Feedback"):
    comment: discord.ui.TextInput[Feedback] = discord.ui.TextInput(label="Comment", custom_id="comment")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.comment.value}", ephemeral=True)


def make_bot() -> commands.Bot:
    """A tiny bot: default intents (nothing privileged), three slash commands, mention replies."""
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.default())
    bot.seen = []  # type: ignore[attr-defined]

    @bot.tree.command(description="Say hello")
    async def hello(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("hi there", view=Counter())

    @bot.tree.command(description="Think, then answer")
    @app_commands.describe(topic="What about")
    async def slow(interaction: discord.Interaction, topic: str) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(f"about {topic}")

    @bot.tree.command(description="Read a file")
    async def size(interaction: discord.Interaction, file: discord.Attachment) -> None:
        data = await file.read()
        await interaction.response.send_message(
            f"{file.filename}: {len(data)} bytes", file=discord.File(io.BytesIO(data), "echo.txt")
        )

    @bot.tree.command(description="Pick a source")
    async def source(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(name)

    @source.autocomplete("name")
    async def sources(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = ["Daily Ledger", "Coast Herald"]
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n.lower()]

    @bot.tree.command(description="Tell us")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Feedback())

    @bot.tree.command(description="Admins only")
    @app_commands.default_permissions(manage_guild=True)
    async def reindex(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("reindexing", ephemeral=True)

    @bot.tree.command(description="Too long for Discord")
    async def shout(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("a" * 2001)

    @bot.listen("on_raw_reaction_add")
    async def report(event: discord.RawReactionActionEvent) -> None:
        guild = bot.get_guild(event.guild_id or 0)
        mod_log = guild and discord.utils.get(guild.text_channels, name="mod-log")
        if mod_log:
            await mod_log.send(f"{event.emoji} on {event.message_id}")

    @bot.listen("on_message")
    async def answer(message: discord.Message) -> None:
        if message.author.bot:
            return
        bot.seen.append(message.content)  # type: ignore[attr-defined]
        if bot.user in message.mentions:
            await message.add_reaction("\N{EYES}")
            await message.reply(f"you said: {message.content}")

    return bot


async def sync(bot: commands.Bot, fake: FakeDiscord) -> None:
    guild = discord.Object(id=fake.guild.id)
    bot.tree.copy_global_to(guild=guild)
    await bot.tree.sync(guild=guild)


async def test_logs_in_and_receives_ready_and_guild(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with run_bot(make_bot(), fake) as bot:
        assert bot.user is not None and bot.user.id == fake.bot_user.id
        assert bot.application_id == fake.application_id
        guild = bot.get_guild(fake.guild.id)
        assert guild is not None and guild in bot.guilds
        assert [c.name for c in guild.text_channels] == ["general", "mod-log"]
        admin = discord.utils.get(guild.roles, name="Admin")
        assert admin is not None and admin.permissions.manage_guild
        assert guild.me.id == fake.bot_user.id
        assert guild.get_member(fake.admin.id) is None  # no presences intent: only the bot
    (conn,) = fake.gateway.connections
    assert conn.query["v"] == "10" and conn.query["encoding"] == "json"
    assert conn.identify is not None and conn.identify["token"] == fake.token
    assert conn.identify["intents"] == discord.Intents.default().value
    assert [str(r) for r in fake.requests[:2]] == ["GET /users/@me", "GET /oauth2/applications/@me"]


async def test_syncs_commands_to_a_guild(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with run_bot(make_bot(), fake) as bot:
        await sync(bot, fake)
        synced = await bot.tree.fetch_commands(guild=discord.Object(id=fake.guild.id))
    put = await fake.wait_for_request(
        "PUT",
        rf"/applications/{fake.application_id}/guilds/"
        rf"{fake.guild.id}/commands",
    )
    assert sorted(c["name"] for c in put.json) == [
        "feedback",
        "hello",
        "reindex",
        "shout",
        "size",
        "slow",
        "source",
    ]
    slow = next(c for c in put.json if c["name"] == "slow")
    assert slow["options"] == [{"type": 3, "name": "topic", "description": "What about", "required": True}]
    assert {c.name: c.id for c in synced} == {c["name"]: int(c["id"]) for c in fake.commands[fake.guild.id]}


async def test_slash_command_answered_with_send_message(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with run_bot(make_bot(), fake) as bot:
        await sync(bot, fake)
        h = await fake.send_interaction("hello")
        reply = await h.reply()
        assert reply["content"] == "hi there"
        assert h.callback is not None and h.callback["type"] == 4
        request = await fake.wait_for_request("POST", rf"/interactions/{h.id}/{h.token}/callback")
        assert request.query == {"with_response": "1"}
        assert request.json["data"]["content"] == "hi there"
        assert request.json["data"]["components"][0]["components"][0]["custom_id"] == "count"

        click = await fake.send_component("count", user=fake.admin)
        assert (await click.reply())["content"] == "clicks: 1"
        assert click.callback is not None and click.callback["type"] == 7
        assert fake.messages[h.original_id or 0]["content"] == "clicks: 1"


async def test_slash_command_deferred_then_followup(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with run_bot(make_bot(), fake) as bot:
        await sync(bot, fake)
        h = await fake.send_interaction("slow", {"topic": "solar"})
        reply = await h.reply()
    assert h.callback == {"type": 5}
    assert reply["content"] == "about solar"
    hook = await fake.wait_for_request("POST", rf"/webhooks/{fake.application_id}/{h.token}")
    assert hook.query["wait"] == "1"
    assert hook.json["content"] == "about solar"
    assert h.followups == [reply]  # the first followup filled the "thinking" message


async def test_attachment_option_and_file_upload(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with run_bot(make_bot(), fake) as bot:
        await sync(bot, fake)
        h = await fake.send_interaction("size", {"file": Upload("notes.txt", b"12345")})
        reply = await h.reply()
    assert reply["content"] == "notes.txt: 5 bytes"
    assert [a["filename"] for a in reply["attachments"]] == ["echo.txt"]
    callback = await fake.wait_for_request("POST", r"/interactions/\d+/[^/]+/callback")
    assert [f.filename for f in callback.files] == ["echo.txt"]
    assert callback.json["data"]["attachments"] == [{"id": 0, "filename": "echo.txt"}]


async def test_autocomplete(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with run_bot(make_bot(), fake) as bot:
        await sync(bot, fake)
        h = await fake.send_autocomplete("source", {"name": "dai"}, focused="name")
        assert await h.choices() == [{"name": "Daily Ledger", "value": "Daily Ledger"}]


async def test_mention_is_answered_and_plain_messages_carry_no_content(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with run_bot(make_bot(), fake) as bot:
        plain = await fake.send_message("nobody asked")
        asked = await fake.send_message(f"{fake.bot_user.mention} who won?")
        reply = await asked.reply()
        assert await asked.reaction() == "\N{EYES}"
    assert plain.delivered and bot.seen[0] == ""  # type: ignore[attr-defined]
    assert reply["content"] == f"you said: {fake.bot_user.mention} who won?"
    assert reply["message_reference"]["message_id"] == str(asked.id)
    request = await fake.wait_for_request("POST", rf"/channels/{fake.channel.id}/messages")
    assert request.json["message_reference"]["message_id"] == asked.id


async def test_mentions_ping_only_from_content_and_as_allowed(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    admins = fake.guild.role("Admin")
    text = f"@everyone {fake.member.mention} {admins.mention}"
    async with run_bot(make_bot(), fake) as bot:
        channel = bot.get_channel(fake.channel.id)
        assert isinstance(channel, discord.TextChannel)
        loud = await channel.send(text)
        quiet = await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
        roles_only = await channel.send(
            text, allowed_mentions=discord.AllowedMentions(everyone=False, users=False, roles=[admins])
        )
        in_embed = await channel.send(embed=discord.Embed(description=text))
        asked = await fake.send_message("a question", user=fake.admin)
        replies = [
            await channel.get_partial_message(asked.id).reply("answer", mention_author=m)
            for m in (True, False)
        ]

    def pings(message: discord.Message) -> tuple[bool, list[int], list[int]]:
        sent = fake.messages[message.id]
        return (
            sent["mention_everyone"],
            [int(u["id"]) for u in sent["mentions"]],
            [int(r) for r in sent["mention_roles"]],
        )

    assert loud.mention_everyone and pings(loud) == (True, [fake.member.id], [admins.id])
    assert pings(quiet) == pings(in_embed) == (False, [], [])
    assert pings(roles_only) == (False, [], [admins.id])
    assert [pings(r)[1] for r in replies] == [[fake.admin.id], []]


async def test_modal_permissions_reactions_and_refused_messages(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with run_bot(make_bot(), fake) as bot:
        await sync(bot, fake)
        opened = await fake.send_interaction("feedback")
        assert (await opened.modal())["title"] == "Feedback"
        submitted = await fake.send_modal_submit(opened, {"comment": "wrong date"})
        thanks = await submitted.reply()
        assert thanks["content"] == "thanks: wrong date" and thanks["flags"] & 64

        with pytest.raises(PermissionError):
            await fake.send_interaction("reindex", user=fake.member)
        assert (await (await fake.send_interaction("reindex", user=fake.admin)).reply())[
            "content"
        ] == "reindexing"

        answer = await (await fake.send_interaction("hello")).reply()
        assert await fake.send_reaction(answer, "\N{THUMBS DOWN SIGN}")
        mod_log = fake.guild.channel("mod-log")
        report = await fake.wait_for_request("POST", rf"/channels/{mod_log.id}/messages")
        assert report.json["content"] == f"\N{THUMBS DOWN SIGN} on {answer['id']}"

        await fake.send_interaction("shout")
        await fake.until(lambda: fake.errors or None, 5.0, "a refused message")
    assert fake.errors == [
        f"{fake.find_requests('POST', r'/interactions/.*')[-1]}: "
        "content is 2001 characters, the limit is 2000"
    ]
    fake.errors.clear()


async def test_wrong_token_is_a_login_failure(fake_discord: FakeDiscord) -> None:
    with pytest.raises(discord.LoginFailure):
        async with run_bot(make_bot(), fake_discord, token="not-the-token"):
            pass
    assert fake_discord.gateway.connections == []


async def test_reconnect_resumes_on_the_override_gateway(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with run_bot(make_bot(), fake) as bot:
        await sync(bot, fake)
        await fake.request_reconnect()
        first, second = fake.gateway.connections
        # READY said resume at /resume; the override keeps the bot on the configured URL.
        assert (first.path, second.path) == ("/", "/")
        assert second.resumed and second.identify is None
        assert (await (await fake.send_interaction("hello")).reply())["content"] == "hi there"


async def test_unknown_route_is_reported(fake_discord: FakeDiscord) -> None:
    async with run_bot(make_bot(), fake_discord) as bot:
        with pytest.raises(discord.NotFound):
            await bot.http.request(Route("GET", "/guilds/{guild_id}/bans", guild_id=1))
    assert fake_discord.unknown_routes == ["GET /api/v10/guilds/1/bans"]
    fake_discord.unknown_routes.clear()


def test_apply_endpoints_moves_rest_and_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Route, "BASE", Route.BASE)
    client = discord.Client(intents=discord.Intents.default())
    apply_endpoints(client, "http://127.0.0.1:8080/api/v10/", "ws://127.0.0.1:8081/")
    assert Route("GET", "/users/@me").url == "http://127.0.0.1:8080/api/v10/users/@me"
    assert "ws_connect" in vars(client.http)  # wrapped on this client only
    assert "ws_connect" not in vars(discord.Client(intents=discord.Intents.default()).http)

    target = yarl.URL("ws://127.0.0.1:8081/")
    resume = yarl.URL("wss://gateway-us-east1-b.discord.gg?v=10&encoding=json&compress=zlib-stream")
    assert (
        str(rebase_gateway(resume, target)) == "ws://127.0.0.1:8081/?v=10&encoding=json&compress=zlib-stream"
    )
    voice = yarl.URL("wss://voice.example.org/?v=8")
    assert rebase_gateway(voice, target) == voice


def test_apply_endpoints_none_keeps_discord(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Route, "BASE", Route.BASE)
    client = discord.Client(intents=discord.Intents.default())
    apply_endpoints(client, None, "")
    assert Route.BASE == "https://discord.com/api/v10"
    assert "ws_connect" not in vars(client.http)
    with pytest.raises(ConfigError):
        apply_endpoints(client, "127.0.0.1:8080", None)
    with pytest.raises(ConfigError):
        apply_endpoints(client, None, "http://127.0.0.1:8081/")
