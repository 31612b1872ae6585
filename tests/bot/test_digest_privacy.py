"""The privacy floor and anonymity of everything leaders get, on SQLite and PostgreSQL.

The organisation's people have distinctive Slack ids and names, so that any of
them leaking into the digest's DM, the leaders' channel post, `tandem digest`
(table and JSON), the chart or `/tandem balance` is found by a plain search.
Legal has two members: every pair with Legal is withheld whole. The digest's
tests run twice, with figures from the log and from the closed months'
snapshots: the floor holds for both.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from matplotlib.text import Text
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from bot.chart import balance_chart, balance_figure
from bot.cli import main
from bot.digest import Digest, Month, compute_digest, delivery_calls, render
from bot.digest_text import render_table
from bot.member_balance import own_balances
from bot.views.digest import own_balance_reply
from rituals.balance import Metric
from rituals.interactions import InteractionKind, InterdependenceType
from storage import org
from storage.db import transaction
from storage.interactions import NewInteraction, log
from storage.models import Interaction, TeamMembership

K = InteractionKind
CREATED = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
MARCH = Month(2025, 3)
AFTER_MARCH = datetime(2025, 4, 2, tzinfo=UTC)
TZ = "Asia/Kolkata"  # a half-hour zone
PARTNERSHIP = "Marketing + IT + Legal"
TEAMS = (("Marketing", 7), ("IT", 6), ("Legal", 2))
LEADERS = ("ULEADER1", "ULEADER2")


def slack_id(team: str, n: int) -> str:
    return f"UQZX{team[:2].upper()}{n:03d}"


def display_name(team: str, n: int) -> str:
    return f"Zebulon Quixotic-{team[:2]}{n:03d}"


@dataclass
class Org:
    workspace_id: int
    partnership_id: int
    teams: dict[str, int]
    members: dict[str, int]  # slack id -> member id
    team_of: dict[str, str]  # slack id -> team name it counts for

    @property
    def secrets(self) -> list[str]:
        """Every string that must never reach a leader: ids, names, internal ids as text."""
        names = [display_name(t, n) for t, size in TEAMS for n in range(1, size + 1)]
        return [*self.members, *names, "Zebulon", "Quixotic", "UQZX"]


def seed(sessions: sessionmaker[Session]) -> Org:
    with transaction(sessions) as s:
        workspace_id = org.ensure_workspace(s, "T1", CREATED)
        teams: dict[str, int] = {}
        members: dict[str, int] = {}
        team_of: dict[str, str] = {}
        for name, size in TEAMS:
            profiles = [
                org.MemberProfile(slack_id(name, n), display_name(name, n), TZ)
                for n in range(1, size + 1)
            ]
            ids = org.upsert_members(s, workspace_id, profiles, CREATED)
            team = org.add_team(s, workspace_id, name, "usergroup", f"S{name[:3].upper()}", CREATED)
            roster = set(ids.values())
            if name == "IT":  # Marketing's first member is in both Slack groups
                roster.add(members[slack_id("Marketing", 1)])
            org.set_team_roster(s, team.id, roster, CREATED)
            teams[name] = team.id
            members.update(ids)
            team_of.update({user: name for user in ids})
        partnership = org.add_partnership(
            s,
            workspace_id,
            PARTNERSHIP,
            [name for name, _ in TEAMS],
            "CJOINT",
            list(LEADERS),
            InterdependenceType.RECIPROCAL,
            CREATED,
        )
        partnership.settings = {"timezone": TZ}
        world = Org(workspace_id, partnership.id, teams, members, team_of)
        log(s, *activity(world))
        return world


def activity(world: Org) -> list[NewInteraction]:
    """Busy months for every pair, Legal included, with blockers naming other teams."""
    rows: list[NewInteraction] = []
    people = sorted(world.members)
    for month in (Month(2025, 2), MARCH):
        start = month.bounds(TZ)[0] + timedelta(days=2)
        for i, giver in enumerate(people):
            for j, taker in enumerate(people):
                if world.team_of[giver] == world.team_of[taker] or (i + j) % 3:
                    continue
                for kind in (K.HELP_GIVEN, K.KUDOS):
                    rows.append(
                        NewInteraction(
                            world.workspace_id,
                            world.partnership_id,
                            kind,
                            world.members[giver],
                            world.members[taker],
                            world.teams[world.team_of[giver]],
                            world.teams[world.team_of[taker]],
                            start + timedelta(hours=i + j),
                        )
                    )
        for user in people[:4]:
            rows.append(
                NewInteraction(
                    world.workspace_id,
                    world.partnership_id,
                    K.BLOCKER,
                    world.members[user],
                    None,
                    world.teams[world.team_of[user]],
                    world.teams["Legal"],
                    start,
                )
            )
    return rows


@pytest.fixture(params=["live", "snapshot"])
def source(request: pytest.FixtureRequest) -> str:
    """Where the digest's figures come from: the log, or the closed months' snapshots."""
    return str(request.param)


def digest_of(sessions: sessionmaker[Session], world: Org, source: str = "live") -> Digest:
    """The March digest, from the log or from snapshots.

    For snapshots, the months are stored first and then the log and the
    memberships are deleted, so the figures can only come from the snapshots.
    """
    if source == "live":
        with sessions() as s:
            return compute_digest(s, world.partnership_id, MARCH)
    with transaction(sessions) as s:
        compute_digest(s, world.partnership_id, MARCH, AFTER_MARCH)
    with transaction(sessions) as s:
        s.execute(delete(Interaction))
        s.execute(delete(TeamMembership))
    with sessions() as s:
        return compute_digest(s, world.partnership_id, MARCH, AFTER_MARCH)


def assert_anonymous(text: str, world: Org) -> None:
    lowered = text.lower()
    for secret in world.secrets:
        assert secret.lower() not in lowered, secret
    for member_id in world.members.values():  # internal ids, as a JSON field would hold them
        assert f'"member_id": {member_id}' not in text and f"member {member_id}" not in text


def chart_texts(digest: Digest) -> list[str]:
    figure = balance_figure(digest)
    figure.canvas.draw()  # tick labels exist once drawn
    return [t.get_text() for t in figure.findobj(Text) if t.get_text()]


def png_text_chunks(png: bytes) -> list[bytes]:
    """The PNG's textual chunks (tEXt, zTXt, iTXt): metadata a file could carry names in."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    found: list[bytes] = []
    at = 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        body = png[at + 8 : at + 8 + length]
        if kind in (b"tEXt", b"iTXt"):
            found.append(body)
        elif kind == b"zTXt":
            found.append(zlib.decompress(body.split(b"\0", 1)[1][1:]))
        at += 12 + length
    return found


# --- the floor ------------------------------------------------------------------------


def test_a_pair_with_a_small_team_is_withheld_whole(
    session_factory: sessionmaker[Session], source: str
) -> None:
    world = seed(session_factory)
    digest = digest_of(session_factory, world, source)
    by_teams = {(p.summary.team_a.team.name, p.summary.team_b.team.name): p for p in digest.pairs}
    assert set(by_teams) == {("Marketing", "IT"), ("Marketing", "Legal"), ("IT", "Legal")}
    shown = by_teams[("Marketing", "IT")]
    assert not shown.summary.hidden and shown.summary.cross_events > 0
    assert shown.summary.line(Metric.GINI) is not None
    for key in (("Marketing", "Legal"), ("IT", "Legal")):
        pair = by_teams[key]
        s = pair.summary
        assert s.hidden and s.team_b.hidden and s.hidden_below == 5
        assert (s.flows_a_to_b, s.flows_b_to_a, s.asks, s.asks_unanswered) == (0, 0, 0, 0)
        assert s.metrics == () and s.team_a.metrics == () and s.team_b.metrics == ()
        assert (s.team_a.size, s.team_b.size) == (None, None)
        assert s.headline is None and s.next_steps == ()
        assert pair.history == () and pair.active_history == ()
    assert digest.shown_pairs == (shown,)


def test_sizes_for_the_floor_follow_the_one_team_rule(
    session_factory: sessionmaker[Session], source: str
) -> None:
    """Marketing's first member is in IT's group too, and counts for Marketing only.

    With a floor of 7, IT (6 of its own, 7 in its Slack group) is under it.
    """
    world = seed(session_factory)
    with transaction(session_factory) as s:
        partnership = s.get(org.Partnership, world.partnership_id)
        assert partnership is not None
        partnership.settings = {"timezone": TZ, "min_group_size": 6}
    pair = digest_of(session_factory, world, source).pairs[0]
    assert not pair.summary.hidden  # 7 and 6
    with transaction(session_factory) as s:
        partnership = s.get(org.Partnership, world.partnership_id)
        assert partnership is not None
        partnership.settings = {"timezone": TZ, "min_group_size": 7}
    pair = digest_of(session_factory, world, source).pairs[0]
    assert pair.summary.hidden and pair.summary.team_b.hidden and not pair.summary.team_a.hidden


# --- nobody named, anywhere -------------------------------------------------------------


def test_the_leaders_dm_and_channel_post_name_no_one(
    session_factory: sessionmaker[Session], source: str
) -> None:
    world = seed(session_factory)
    rendered = render(digest_of(session_factory, world, source))
    message = json.dumps(rendered.message, ensure_ascii=False)
    assert_anonymous(message, world)
    assert "Legal had fewer than 5 members" in message
    hidden_blocks = [b for b in rendered.message["blocks"] if "Legal had fewer" in json.dumps(b)]
    assert len(hidden_blocks) == 2
    for block in hidden_blocks:  # no count of a hidden pair, only the floor itself
        digits = {c for c in json.dumps(block, ensure_ascii=False) if c.isdigit()}
        assert digits <= {"5"}, block
    for target in ("ULEADER1", "CLEADERS"):
        for call in delivery_calls(rendered, target, f"digest:test:{target}"):
            payload = {k: v for k, v in call.payload.items() if k not in ("channel", "content")}
            assert_anonymous(json.dumps(payload, ensure_ascii=False), world)


def test_the_chart_names_no_one_and_draws_no_hidden_pair(
    session_factory: sessionmaker[Session], source: str
) -> None:
    world = seed(session_factory)
    digest = digest_of(session_factory, world, source)
    texts = chart_texts(digest)
    assert any("Marketing → IT" in t for t in texts)
    # Legal appears only in the partnership's name, in the title: no bar, line or label.
    assert [t for t in texts if "Legal" in t] == [f"{PARTNERSHIP}: give and take, March 2025"]
    assert_anonymous("\n".join(texts), world)
    png = balance_chart(digest)
    assert png_text_chunks(png) == []
    for secret in world.secrets:
        assert secret.encode() not in png


def test_tandem_digest_prints_no_one_as_a_table_or_json(
    session_factory: sessionmaker[Session],
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TANDEM_DATABASE_URL", db_url)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    world = seed(session_factory)
    assert main(["digest", "--partnership", PARTNERSHIP, "--month", "2025-03"]) == 0
    table = capsys.readouterr().out
    assert_anonymous(table, world)
    assert "== Marketing ↔ Legal ==" in table
    legal = table.split("== Marketing ↔ Legal ==")[1].split("==")[0]
    assert "fewer than 5 members" in legal and "Give share" not in legal
    assert main(["digest", "--partnership", PARTNERSHIP, "--month", "2025-03", "--json"]) == 0
    out = capsys.readouterr().out
    assert_anonymous(out, world)
    pairs = json.loads(out)["pairs"]
    hidden = [p for p in pairs if "Legal" in p["teams"]]
    assert len(hidden) == 2
    for pair in hidden:
        assert set(pair) == {"teams", "hidden", "team_metrics"}
        assert all(
            side["metrics"] == {} and side["size"] is None for side in pair["team_metrics"].values()
        )


def test_tandem_balance_shows_a_member_only_their_own_counts(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed(session_factory)
    now = MARCH.bounds(TZ)[0] + timedelta(days=20)
    for user in world.members:
        with session_factory() as s:
            balances = own_balances(s, world.workspace_id, user, now)
        assert balances and not balances[0].empty
        reply = json.dumps(own_balance_reply(balances), ensure_ascii=False)
        assert_anonymous(reply, world)


def test_a_month_under_the_floor_is_a_gap_in_the_history_and_the_trend(
    session_factory: sessionmaker[Session], source: str
) -> None:
    """Legal grows to five on 1 March: March is shown, February stays hidden."""
    world = seed(session_factory)
    march_start = MARCH.bounds(TZ)[0]
    with transaction(session_factory) as s:
        newcomers = org.upsert_members(
            s,
            world.workspace_id,
            [
                org.MemberProfile(slack_id("Legal", n), display_name("Legal", n), TZ)
                for n in (3, 4, 5)
            ],
            march_start,
        )
        legal = {world.members[slack_id("Legal", n)] for n in (1, 2)} | set(newcomers.values())
        org.set_team_roster(s, world.teams["Legal"], legal, march_start)
    digest = digest_of(session_factory, world, source)
    pair = next(p for p in digest.pairs if p.summary.team_b.team.name == "Legal")
    assert not pair.summary.hidden and pair.summary.cross_events > 0
    february = next(h for h in pair.history if h.month.key == "2025-02")
    assert february.hidden and (february.a_to_b, february.b_to_a) == (0, 0)
    line = pair.summary.line(Metric.GIVE_SHARE)
    assert line is not None and line.trend.vs_last_month is None
    as_json = next(p for p in digest.as_dict()["pairs"] if p["teams"] == ["Marketing", "Legal"])
    assert {"month": "2025-02", "hidden": True} in as_json["history"]
    assert "2025-02: hidden" in render_table(digest)
