"""Admins define teams and partnerships from Slack; everyone else is politely refused."""

from __future__ import annotations

import json

from sqlalchemy import select

from storage.models import AuditLog, Member, Partnership, Team, TeamMembership
from tests.e2e.conftest import ADMIN, RunningBot, finish_jobs


def _reply(bot: RunningBot, text: str, user_id: str = ADMIN) -> str:
    response = bot.slack.command(text, user_id=user_id)
    assert response.status == 200
    params = response.json()  # the answer is the ack itself
    assert params["response_type"] == "ephemeral"
    return f"{params['text']}\n{json.dumps(params.get('blocks', []))}"


def _seed_directory(bot: RunningBot) -> None:
    fake = bot.fake
    for uid, tz in [("UM1", "Europe/London"), ("UM2", "America/New_York"), ("UI1", "Asia/Kolkata")]:
        fake.add_user(uid, tz=tz)
    fake.add_user("UGUEST", is_restricted=True)
    fake.add_user("UGONE", deleted=True)
    fake.add_user("UROBOT", is_bot=True)
    fake.add_user("UOWNER", is_owner=True)
    fake.add_usergroup("SMKT", "marketing", ["UM1", "UM2", "UGUEST", "UGONE", "UROBOT"])
    fake.add_channel("CIT", "it-team", ["UI1"])
    fake.add_channel("CJOINT", "mkt-it", ["UM1", "UI1"])


def test_team_and_partnership_setup_round_trip(bot: RunningBot) -> None:
    _seed_directory(bot)
    text = _reply(bot, "admin team add Marketing <!subteam^SMKT|@marketing>")
    assert "Added team *Marketing*. I'm reading its members from Slack" in text
    assert "Added team *IT*." in _reply(bot, "admin team add IT <#CIT|it-team>")
    # The answers came in the acks; a worker reads Slack, then tells the admin by DM.
    assert bot.fake.calls_to("usergroups.users.list") == []
    told = finish_jobs(bot)
    assert "Added team *Marketing* with 2 members." in told
    assert "Added team *IT* with 1 member." in told

    listing = _reply(bot, "admin team list")
    assert "2 teams" in listing
    partnership = _reply(
        bot,
        "admin partnership add Marketing IT channel=<#CJOINT|mkt-it> leaders=<@UM1|a>,<@UI1|b> type=reciprocal",
    )
    assert "*Marketing + IT* runs between *Marketing* and *IT*" in partnership
    assert "First standup prompts:" in partnership
    assert "1 partnerships" in _reply(bot, "admin partnership list")

    with bot.services.sessions() as session:
        members = {m.slack_user_id: m for m in session.scalars(select(Member))}
        # Bots, guests and deactivated people are known (to refuse kudos later) but in no team.
        current = set(
            session.scalars(
                select(Member.slack_user_id)
                .join(TeamMembership, TeamMembership.member_id == Member.id)
                .where(TeamMembership.left_at.is_(None))
            )
        )
        assert current == {"UM1", "UM2", "UI1"}
        assert members["UM2"].tz == "America/New_York"
        assert (
            members["UGONE"].is_deleted and members["UROBOT"].is_bot and members["UGUEST"].is_guest
        )
        actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
        assert actions == ["team.add", "team.add", "partnership.add"] + ["ritual.add"] * 4
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "partnership.add")).one()
        assert entry.actor_user_id == ADMIN and entry.before is None
        assert entry.after == {
            "teams": ["Marketing", "IT"],
            "channel": "CJOINT",
            "leaders": ["UI1", "UM1"],
            "type": "reciprocal",
        }

    assert "still part of" in _reply(bot, "admin team remove IT")
    assert "Removed partnership" in _reply(bot, 'admin partnership remove "Marketing + IT"')
    assert "Removed team *IT*" in _reply(bot, "admin team remove IT")
    with bot.services.sessions() as session:
        assert session.scalars(select(Partnership)).all() == []
        assert [t.name for t in session.scalars(select(Team))] == ["Marketing"]
        last = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert last is not None and last.action == "team.remove" and last.after is None


def test_sync_follows_slack_membership(bot: RunningBot) -> None:
    _seed_directory(bot)
    _reply(bot, "admin team add Marketing <!subteam^SMKT>")
    finish_jobs(bot)
    bot.fake.add_usergroup("SMKT", "marketing", ["UM1", "UI1"])  # UM2 left, UI1 joined
    text = _reply(bot, "admin team sync Marketing")
    assert "Syncing *Marketing*'s members from Slack" in text
    (told,) = finish_jobs(bot)
    assert told.startswith("Synced: Marketing 2 (+1 / -1)")
    report = bot.fake.calls_to("chat.postMessage")[-1].json_param("blocks")
    assert "*Marketing*: 2 members (+1 / -1" in json.dumps(report)
    with bot.services.sessions() as session:
        rows = session.execute(
            select(Member.slack_user_id, TeamMembership.left_at).join(
                TeamMembership, TeamMembership.member_id == Member.id
            )
        ).all()
        left = {uid for uid, left_at in rows if left_at is not None}
        assert left == {"UM2"}


def test_a_person_in_two_teams_of_a_partnership_counts_once(bot: RunningBot) -> None:
    from storage.org import partnership_roster

    _seed_directory(bot)
    _reply(bot, "admin team add Marketing <!subteam^SMKT>")
    finish_jobs(bot)
    bot.fake.add_channel("CIT", "it-team", ["UI1", "UM1"])  # UM1 is in both teams
    _reply(bot, "admin team add IT <#CIT>")
    finish_jobs(bot)
    _reply(bot, "admin partnership add Marketing IT channel=<#CJOINT> leaders=<@UM1>")
    with bot.services.sessions() as session:
        partnership = session.scalars(select(Partnership)).one()
        teams = {t.name: t.id for t in session.scalars(select(Team))}
        roster = {e.slack_user_id: e.team_id for e in partnership_roster(session, partnership.id)}
    # Joined Marketing first, so counted for Marketing only.
    assert roster == {"UM1": teams["Marketing"], "UM2": teams["Marketing"], "UI1": teams["IT"]}


def test_workspace_owner_is_an_admin_without_configuration(bot: RunningBot) -> None:
    _seed_directory(bot)
    assert "No teams yet" in _reply(bot, "admin team list", user_id="UOWNER")


def test_non_admin_is_refused_and_nothing_changes(bot: RunningBot) -> None:
    _seed_directory(bot)
    text = _reply(bot, "admin team add Marketing <!subteam^SMKT>", user_id="UM1")
    assert "Only Tandem admins" in text
    with bot.services.sessions() as session:
        assert session.scalars(select(Team)).all() == []
        assert session.scalars(select(AuditLog)).all() == []


def test_admin_mistakes_get_clear_answers(bot: RunningBot) -> None:
    _seed_directory(bot)
    assert "Did you mean `admin team`" in _reply(bot, "admin teams list")
    assert "I can't find `Sales`" in _reply(
        bot, "admin partnership add Sales IT channel=<#C1> leaders=<@UM1>"
    )
    _reply(bot, "admin team add Marketing <!subteam^SMKT>")
    assert "already exists" in _reply(bot, "admin team add marketing <#CIT>")
    assert "There are no teams" not in _reply(bot, "admin team sync")
    assert "No team called `Nope`" in _reply(bot, "admin team sync Nope")


def test_channel_team_the_bot_cannot_read(bot: RunningBot) -> None:
    _seed_directory(bot)
    bot.fake.error_next("conversations.members", error="channel_not_found")
    _reply(bot, "admin team add Ops <#CSECRET|secret>")
    (told,) = finish_jobs(bot)
    assert "couldn't read its members yet (`channel_not_found`)" in told
    blocks = json.dumps(bot.fake.calls_to("chat.postMessage")[-1].json_param("blocks"))
    assert "/invite @Tandem" in blocks
