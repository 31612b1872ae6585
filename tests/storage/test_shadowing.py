"""Shadowing rows: rounds, guarded status changes, and the matcher's inputs read in SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from rituals.interactions import InteractionKind, InterdependenceType, RitualKind
from storage import org, rituals
from storage import shadowing as store
from storage.db import transaction
from storage.interactions import NewInteraction, log
from storage.models import Member
from storage.rituals import RitualSnapshot

NOW = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # a Monday

PEOPLE: dict[str, list[tuple[str, str | None]]] = {
    "Marketing": [("UM1", "Europe/London"), ("UM2", "Europe/Berlin")],
    "IT": [("UI1", "Europe/London"), ("UI2", "Europe/Paris")],
}


@dataclass
class World:
    workspace_id: int
    partnership_id: int
    teams: dict[str, int]
    members: dict[str, int]  # slack user id -> member id
    ritual: RitualSnapshot

    def m(self, slack_id: str) -> int:
        return self.members[slack_id]


def make_world(
    session: Session,
    people: Mapping[str, Sequence[tuple[str, str | None]]] = PEOPLE,
    *,
    settings: dict[str, Any] | None = None,
    cron: str = "0 10 * * 1",
    timezone: str = "Europe/London",
    now: datetime = NOW,
    channel: str = "CJOINT",
) -> World:
    """A workspace with one partnership of the given teams and a shadowing ritual."""
    workspace = org.ensure_workspace(session, "T0001", now)
    teams: dict[str, int] = {}
    members: dict[str, int] = {}
    for name, roster in people.items():
        team = org.add_team(session, workspace, name, "usergroup", f"S{name.upper()}", now)
        teams[name] = team.id
        ids = org.upsert_members(
            session,
            workspace,
            [org.MemberProfile(uid, uid.lower(), tz) for uid, tz in roster],
            now,
        )
        members.update(ids)
        org.set_team_roster(session, team.id, set(ids.values()), now)
    partnership = org.add_partnership(
        session, workspace, "Launch", list(people), channel, [], InterdependenceType.RECIPROCAL, now
    )
    ritual = rituals.create(
        session,
        partnership_id=partnership.id,
        kind=RitualKind.SHADOWING,
        cron=cron,
        timezone=timezone,
        now=now,
        settings=settings or {},
    )
    return World(workspace, partnership.id, teams, members, ritual)


def add_round(
    session: Session,
    world: World,
    round_no: int,
    pairs: Sequence[tuple[str, Sequence[str]]] = (),
    unpaired: Sequence[tuple[str, str]] = (),
    at: datetime = NOW,
) -> tuple[int, list[int]]:
    round_id = store.create_round(session, world.ritual.id, round_no, at.date(), at)
    ids = store.add_pairings(
        session,
        round_id,
        [store.NewPairing(world.m(h), tuple(world.m(s) for s in g)) for h, g in pairs],
        at + timedelta(days=3),
    )
    store.add_unpaired(session, round_id, [(world.m(u), r) for u, r in unpaired])
    return round_id, ids


def interaction(
    world: World,
    provider: str,
    beneficiary: str,
    at: datetime,
    kind: InteractionKind = InteractionKind.KUDOS,
) -> NewInteraction:
    team_of = {m: team for team, ms in PEOPLE.items() for m, _ in ms}
    return NewInteraction(
        workspace_id=world.workspace_id,
        partnership_id=world.partnership_id,
        kind=kind,
        provider_member_id=world.m(provider),
        beneficiary_member_id=world.m(beneficiary),
        provider_team_id=world.teams[team_of[provider]],
        beneficiary_team_id=world.teams[team_of[beneficiary]],
        occurred_at=at,
    )


# --- rounds and pairings -----------------------------------------------------------------


def test_pairings_keep_their_order_host_and_shadowers(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        world = make_world(session)
        assert store.next_round_no(session, world.ritual.id) == 1
        round_id, ids = add_round(
            session, world, 1, [("UM1", ["UI1"]), ("UI2", ["UM2"])], unpaired=[]
        )
        assert store.next_round_no(session, world.ritual.id) == 2
    with session_factory() as session:
        first, second = (store.get_pairing(session, i) for i in ids)
        assert first is not None and second is not None
        assert first.host.slack_user_id == "UM1"
        assert [p.slack_user_id for p in first.shadowers] == ["UI1"]
        assert second.host.slack_user_id == "UI2"
        assert first.status == "proposed" and first.is_open
        assert first.round_id == round_id and first.round_no == 1
        assert first.partnership_id == world.partnership_id
        assert first.workspace_id == world.workspace_id
        assert first.reminder_due_at == NOW + timedelta(days=3)
        assert first.participant("UI2") is None
        assert store.get_pairing(session, 9999) is None


def test_status_changes_are_guarded_so_the_first_click_wins(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        world = make_world(session)
        _, (pairing,) = add_round(session, world, 1, [("UM1", ["UI1"])])
    with transaction(session_factory) as session:
        assert not store.save_reflection(session, pairing, "a", "b", NOW)  # not met yet
        assert store.reschedule(session, pairing, NOW + timedelta(days=5))
        assert store.close(session, pairing, store.PairingStatus.MET, met_at=NOW)
        assert not store.close(session, pairing, store.PairingStatus.MET, met_at=NOW)
        assert not store.close(session, pairing, store.PairingStatus.SKIPPED)
        assert not store.reschedule(session, pairing, None)
        assert store.save_reflection(session, pairing, "their release train", "briefs", NOW)
        assert not store.save_reflection(session, pairing, "again", "again", NOW)
    with session_factory() as session:
        record = store.get_pairing(session, pairing)
        assert record is not None
        assert (record.status, record.met_at, record.reminder_due_at) == ("met", NOW, None)
        assert record.reflected_at == NOW


# --- the matcher's inputs ------------------------------------------------------------------


def test_history_counts_rounds_ago_within_the_window(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        world = make_world(session)
        add_round(session, world, 1, [("UM1", ["UI1"])])
        add_round(session, world, 2, [("UM1", ["UI2"]), ("UI1", ["UM2"])])
        add_round(session, world, 3, [("UM1", ["UI1"])])
    with session_factory() as session:
        history = store.recent_history(session, world.ritual.id, 4, window=12)
        ids = world.m
        assert history == {
            frozenset((ids("UM1"), ids("UI1"))): 1,  # round 3 is the latest meeting
            frozenset((ids("UM1"), ids("UI2"))): 2,
            frozenset((ids("UI1"), ids("UM2"))): 2,
        }
        assert store.recent_history(session, world.ritual.id, 4, window=1) == {
            frozenset((ids("UM1"), ids("UI1"))): 1
        }
        assert store.recent_history(session, world.ritual.id, 4, window=0) == {}
        # Three team pairs taking turns: round 1 was one turn of this pair ago from round 4.
        rotated = store.recent_history(session, world.ritual.id, 4, window=12, rotation=3)
        assert rotated[frozenset((ids("UM1"), ids("UI1")))] == 1
        assert rotated[frozenset((ids("UM1"), ids("UI2")))] == 1


def test_last_roles_and_who_sat_out(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        world = make_world(session)
        add_round(session, world, 1, [("UM1", ["UI1"])], unpaired=[("UM2", "teams_unequal")])
        add_round(
            session,
            world,
            2,
            [("UI1", ["UM2"])],
            unpaired=[("UM1", "no_free_partner"), ("UI2", "opted_out")],
        )
    left_out = {"teams_unequal", "no_free_partner"}
    with session_factory() as session:
        roles = store.last_roles(session, world.ritual.id)
        assert roles == {world.m("UI1"): "host", world.m("UM2"): "shadower", world.m("UM1"): "host"}
        # UM2 sat out round 1 but was paired in round 2; UI2 opted out (not "sat out").
        assert store.sat_out_last(session, world.ritual.id, left_out) == {world.m("UM1")}
        assert store.sat_out_last(session, world.ritual.id, set()) == set()


def test_a_tie_takes_two_cross_team_interactions_in_the_window(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        world = make_world(session)
        log(
            session,
            interaction(world, "UM1", "UI1", NOW - timedelta(days=3)),
            interaction(world, "UI1", "UM1", NOW - timedelta(days=40)),  # either direction counts
            interaction(world, "UM2", "UI2", NOW - timedelta(days=2)),  # only one: no tie
            interaction(world, "UM2", "UM1", NOW - timedelta(days=2)),  # same team
            interaction(world, "UM2", "UM1", NOW - timedelta(days=1)),
            interaction(world, "UM2", "UI2", NOW - timedelta(days=200)),  # outside the window
        )
    with session_factory() as session:
        teams = list(world.teams.values())
        tied = store.cross_team_tied(session, teams, NOW - timedelta(days=90), NOW)
        assert tied == {world.m("UM1"), world.m("UI1")}
        assert store.cross_team_tied(session, teams[:1], NOW - timedelta(days=90), NOW) == set()


def test_team_flows_count_each_direction_of_giving(session_factory: sessionmaker[Session]) -> None:
    start, end = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    with transaction(session_factory) as session:
        world = make_world(session)
        inside = datetime(2026, 2, 10, tzinfo=UTC)
        log(
            session,
            interaction(world, "UM1", "UI1", inside),
            interaction(world, "UM2", "UI1", inside),
            interaction(world, "UM1", "UI2", inside, InteractionKind.SHADOWING),
            interaction(world, "UI1", "UM1", inside),
            interaction(world, "UI1", "UM1", inside, InteractionKind.STANDUP_ANSWER),  # not a flow
            interaction(world, "UM1", "UM2", inside),  # inside Marketing
            interaction(world, "UI1", "UM1", datetime(2026, 3, 2, tzinfo=UTC)),  # next month
        )
    marketing, it = world.teams["Marketing"], world.teams["IT"]
    with session_factory() as session:
        assert store.team_flows(session, marketing, it, start, end) == (3, 1)
        assert store.team_flows(session, it, marketing, start, end) == (1, 3)


def test_member_teams_follow_current_memberships(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        world = make_world(session)
        org.set_team_roster(session, world.teams["IT"], {world.m("UI1")}, NOW)  # UI2 left
    with session_factory() as session:
        found = org.member_teams(
            session, world.partnership_id, [world.m("UM1"), world.m("UI1"), world.m("UI2")]
        )
        assert found == {
            world.m("UM1"): world.teams["Marketing"],
            world.m("UI1"): world.teams["IT"],
        }
        assert org.member_teams(session, world.partnership_id, []) == {}
        assert list(org.partnership_team_names(session, world.partnership_id).items()) == [
            (world.teams["Marketing"], "Marketing"),
            (world.teams["IT"], "IT"),
        ]


# --- rounds as a whole ---------------------------------------------------------------------


def test_round_outcome_counts_pairs_met_and_people_newly_connected(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        world = make_world(session)
        # UM1 and UI1 knew each other before the round; UI2 and UM2 did not.
        log(session, interaction(world, "UI1", "UM1", NOW - timedelta(days=10)))
        round_id, (known, new) = add_round(session, world, 1, [("UM1", ["UI1"]), ("UI2", ["UM2"])])
        for pairing in (known, new):
            store.close(session, pairing, store.PairingStatus.MET, met_at=NOW + timedelta(days=1))
        # The session itself is logged after the round started: it does not count as "before".
        log(
            session,
            interaction(world, "UI2", "UM2", NOW + timedelta(days=1), InteractionKind.SHADOWING),
        )
        _, (unmet,) = add_round(session, world, 2, [("UM1", ["UI2"])])
    with session_factory() as session:
        assert store.round_outcome(session, round_id) == store.RoundOutcome(
            pairs=2, met=2, newly_connected=2
        )
        next_round = store.previous_round_id(session, world.ritual.id, 3)
        assert next_round is not None
        assert store.round_outcome(session, next_round) == store.RoundOutcome(1, 0, 0)
        assert store.open_pairings(session, next_round) == [(unmet, NOW + timedelta(days=3))]
        assert store.previous_round_id(session, world.ritual.id, 1) is None


def test_departures_are_open_pairings_of_the_latest_round_whose_member_left(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        world = make_world(session)
        _, (old,) = add_round(session, world, 1, [("UM2", ["UI2"])])
        _, (leaving, closed) = add_round(session, world, 2, [("UM1", ["UI1"]), ("UI2", ["UM2"])])
        store.close(session, closed, store.PairingStatus.SKIPPED)
    with session_factory() as session:
        assert store.departures(session) == []
    with transaction(session_factory) as session:
        org.set_team_roster(session, world.teams["IT"], {world.m("UI2")}, NOW)  # UI1 left IT
        session.execute(update(Member).where(Member.id == world.m("UM2")).values(is_deleted=True))
    with session_factory() as session:
        # UM2 is deactivated, but their pairings are closed (round 2) or not current (round 1).
        assert store.departures(session) == [store.Departure(leaving, world.m("UI1"))]
        assert store.departures(session, world.ritual.id) == [
            store.Departure(leaving, world.m("UI1"))
        ]
        assert store.departures(session, world.ritual.id + 1) == []
        assert old != leaving


def test_member_rounds_show_the_latest_round_of_each_ritual(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        world = make_world(session)
    with session_factory() as session:
        (before,) = store.member_rounds(session, world.m("UM1"))
        assert before.round_id is None and before.pairing is None
        assert before.partnership_name == "Launch"
    with transaction(session_factory) as session:
        add_round(session, world, 1, [("UM1", ["UI1"])], unpaired=[("UM2", "away")])
        round_id, (pairing,) = add_round(
            session, world, 2, [("UM2", ["UI1"])], unpaired=[("UI2", "no_overlap")]
        )
    with session_factory() as session:
        (mine,) = store.member_rounds(session, world.m("UM2"))
        assert mine.round_id == round_id and mine.round_no == 2
        assert mine.round_date == date(2026, 3, 9)
        assert mine.pairing is not None and mine.pairing.id == pairing
        (theirs,) = store.member_rounds(session, world.m("UI2"))
        assert theirs.pairing is None and theirs.unpaired_reason == "no_overlap"
        (idle,) = store.member_rounds(session, world.m("UM1"))  # paired in round 1 only
        assert idle.round_no == 2 and idle.pairing is None and idle.unpaired_reason is None
