"""KPI and pulse rows on both databases: latest readings, board revisions, anonymity on close."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from rituals.interactions import InterdependenceType
from rituals.kpi import Cadence, Direction
from storage import kpis, org, pulse
from storage.db import transaction
from storage.models import PulseAnswer, PulseRespondent

NOW = datetime(2026, 3, 12, 14, 0, tzinfo=UTC)


def _world(session: Session) -> tuple[int, int, dict[str, int], int, int]:
    workspace = org.ensure_workspace(session, "T1", NOW)
    marketing = org.add_team(session, workspace, "Marketing", "usergroup", "S1", NOW).id
    it = org.add_team(session, workspace, "IT", "usergroup", "S2", NOW).id
    ids = org.upsert_members(
        session,
        workspace,
        [org.MemberProfile(u, u.lower(), "UTC") for u in ("UANA", "UBEN", "UIVY", "UJO")],
        NOW - timedelta(days=30),
    )
    partnership = org.add_partnership(
        session,
        workspace,
        "Launch",
        ["Marketing", "IT"],
        "CJOINT",
        [],
        InterdependenceType.RECIPROCAL,
        NOW,
    )
    return workspace, partnership.id, ids, marketing, it


def test_kpi_state_has_latest_previous_and_who_checked_in(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as s:
        ws, pid, ids, mkt, it = _world(s)
        kpi_id = kpis.add_kpi(
            s,
            kpis.NewKpi(
                ws,
                pid,
                "Signups",
                "%",
                Direction.HIGHER,
                10.0,
                20.0,
                date(2026, 3, 1),
                date(2026, 6, 1),
                Cadence.WEEKLY,
                "UADMIN",
                ((ids["UANA"], mkt), (ids["UIVY"], it)),
            ),
            NOW,
        )
        with pytest.raises(kpis.KpiNameTaken):
            kpis.add_kpi(
                s,
                kpis.NewKpi(
                    ws,
                    pid,
                    "signups",
                    "",
                    Direction.HIGHER,
                    1,
                    2,
                    date(2026, 3, 1),
                    date(2026, 6, 1),
                    Cadence.WEEKLY,
                    "UADMIN",
                    (),
                ),
                NOW,
            )
    with transaction(session_factory) as s:
        assert kpis.find_id(s, [pid], "SIGNUPS") == kpi_id
        kpis.add_checkin(s, kpi_id, ids["UANA"], mkt, "2026-W10", 11.0, "", NOW)
        kpis.add_checkin(s, kpi_id, ids["UIVY"], it, "2026-W11", 12.0, "", NOW + timedelta(days=7))
        kpis.add_checkin(s, kpi_id, ids["UANA"], mkt, "2026-W11", 13.0, "", NOW + timedelta(days=8))
        assert kpis.checked_in(s, kpi_id, "2026-W11")
        assert not kpis.checked_in(s, kpi_id, "2026-W12")
    with transaction(session_factory) as s:
        [state] = kpis.states(s, partnership_id=pid)
        assert state.latest == 13.0 and state.previous == 11.0
        assert state.latest_period == "2026-W11"
        assert dict(state.latest_by) == {mkt: "UANA", it: "UIVY"}
        assert {o.slack_user_id for o in state.owners} == {"UANA", "UIVY"}
        assert [k.id for k in kpis.states(s, member_id=ids["UIVY"])] == [kpi_id]
        assert kpis.states(s, member_id=ids["UBEN"]) == []
        assert kpis.set_celebrated(s, kpi_id, 25)
        assert not kpis.set_celebrated(s, kpi_id, 25)
        assert kpis.next_board_revision(s, pid, "a") == 1
        assert kpis.next_board_revision(s, pid, "a") is None
        assert kpis.next_board_revision(s, pid, "b") == 2


def test_pulse_answers_are_editable_until_close_then_unlinkable(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as s:
        _, pid, ids, mkt, it = _world(s)
        rnd = pulse.open_round(s, pid, "2026-03", {mkt: 2, it: 2})
        rnd = pulse.open_round(s, pid, "2026-03", {it: 1})
        assert rnd.asked == {mkt: 2, it: 3}
        assert pulse.answer(s, rnd.id, ids["UANA"], mkt, 2, "more demos")
        assert not pulse.answer(s, rnd.id, ids["UANA"], mkt, 5, None)  # edited, not added
        assert pulse.answer(s, rnd.id, ids["UIVY"], it, 4, "shared roadmap")
        assert pulse.respondents(s, rnd.id) == {ids["UANA"], ids["UIVY"]}
    with transaction(session_factory) as s:
        counts = {t.team_id: t for t in pulse.team_counts(s, rnd.id)}
        assert counts[mkt].counts == {5: 1} and counts[mkt].comments == ()
        assert counts[it].comments == ("shared roadmap",)
        assert pulse.close(s, rnd.id, NOW)
        assert not pulse.close(s, rnd.id, NOW)
    with transaction(session_factory) as s:
        assert pulse.respondents(s, rnd.id) == set()
        assert s.scalars(select(PulseRespondent)).all() == []
        with pytest.raises(pulse.PulseClosed):
            pulse.answer(s, rnd.id, ids["UJO"], it, 3, None)
        assert [r.month for r in pulse.latest_closed(s, pid)] == ["2026-03"]
    # The answer table has no column that could hold a person.
    columns = {c.key for c in inspect(PulseAnswer).columns}
    assert columns == {"id", "round_id", "team_id", "score", "comment"}


def _signups(s: Session, ws: int, pid: int, owners: tuple[tuple[int, int | None], ...]) -> int:
    return kpis.add_kpi(
        s,
        kpis.NewKpi(
            ws,
            pid,
            "Signups",
            "%",
            Direction.HIGHER,
            10.0,
            20.0,
            date(2026, 3, 1),
            date(2026, 6, 1),
            Cadence.WEEKLY,
            "UADMIN",
            owners,
        ),
        NOW,
    )


def test_a_month_reads_the_kpis_goals_and_check_ins_of_its_end(
    session_factory: sessionmaker[Session],
) -> None:
    end = datetime(2026, 4, 1, tzinfo=UTC)
    with transaction(session_factory) as s:
        ws, pid, ids, mkt, it = _world(s)
        kpi_id = _signups(s, ws, pid, ((ids["UANA"], mkt), (ids["UIVY"], it)))
        kpis.add_checkin(s, kpi_id, ids["UANA"], mkt, "2026-W13", 12.0, "", end - timedelta(days=3))
        kpis.add_checkin(s, kpi_id, ids["UIVY"], it, "2026-W14", 15.0, "", end + timedelta(hours=1))
    with transaction(session_factory) as s:
        # After the month: renamed, a new target, a new owner, then removed.
        kpis.edit_kpi(
            s,
            kpi_id,
            {"name": "Signups (web)", "target": 30.0},
            ((ids["UBEN"], mkt), (ids["UIVY"], it)),
            0,
            end + timedelta(days=2),
        )
        kpis.edit_kpi(s, kpi_id, {"unit": "pts"}, None, None, end + timedelta(days=3))
        assert kpis.set_removed(s, kpi_id, end + timedelta(days=4))
        assert not kpis.set_removed(s, kpi_id, end + timedelta(days=5))
    with transaction(session_factory) as s:
        assert kpis.states(s, partnership_id=pid) == []  # removed: gone from today's views
        assert kpis.find_id(s, [pid], "Signups (web)") is None
        assert kpis.find_id(s, [pid], "signups (WEB)", removed=True) == kpi_id
        [then] = kpis.states(s, partnership_id=pid, as_of=end)
        assert (then.name, then.unit, then.goal.target) == ("Signups", "%", 20.0)
        assert then.latest == 12.0 and then.latest_period == "2026-W13"
        assert kpis.states(s, partnership_id=pid, as_of=datetime(2026, 3, 1, tzinfo=UTC)) == []
        # Between the two edits: the first edit's goal, the second's not yet.
        [between] = kpis.states(s, partnership_id=pid, as_of=end + timedelta(days=2, hours=1))
        assert (between.name, between.unit, between.goal.target) == ("Signups (web)", "%", 30.0)
        assert between.latest == 15.0 and between.previous == 12.0
    with transaction(session_factory) as s:
        with pytest.raises(kpis.KpiNameTaken) as taken:
            kpis.add_kpi(
                s,
                kpis.NewKpi(
                    ws,
                    pid,
                    "SIGNUPS (web)",
                    "",
                    Direction.HIGHER,
                    1,
                    2,
                    date(2026, 3, 1),
                    date(2026, 6, 1),
                    Cadence.WEEKLY,
                    "UADMIN",
                    (),
                ),
                NOW,
            )
        assert taken.value.removed  # a removed KPI keeps its name, to be restored
        assert kpis.set_removed(s, kpi_id, None)  # restored
        [back] = kpis.states(s, partnership_id=pid)
        assert back.name == "Signups (web)" and back.unit == "pts"
        assert {o.slack_user_id for o in back.owners} == {"UBEN", "UIVY"}


def test_a_round_closes_once_keeping_its_results_and_forgetting_who(
    session_factory: sessionmaker[Session],
) -> None:
    closes_at = datetime(2026, 4, 1, tzinfo=UTC)
    with transaction(session_factory) as s:
        _, pid, ids, mkt, _ = _world(s)
        rnd = pulse.open_round(s, pid, "2026-03", {mkt: 2}, closes_at)
        later = pulse.open_round(s, pid, "2026-04", {mkt: 2}, closes_at + timedelta(days=30))
        pulse.answer(s, rnd.id, ids["UANA"], mkt, 4, "demos")
        assert not rnd.is_over(closes_at - timedelta(seconds=1))
        assert rnd.is_over(closes_at)
        assert pulse.due_to_close(s, pid, closes_at - timedelta(seconds=1)) == []
        assert pulse.due_to_close(s, pid, closes_at) == [rnd.id]
        assert pulse.due_to_close(s, pid, NOW, "2026-04") == [rnd.id, later.id]
        kept = [pulse.TeamCounts(mkt, {4: 1}, ("demos",))]
        assert pulse.close(s, rnd.id, closes_at, kept)
        assert not pulse.close(s, rnd.id, closes_at, [])
    with transaction(session_factory) as s:
        found = pulse.get_round(s, rnd.id)
        assert found is not None and found.closed and found.results == tuple(kept)
        assert pulse.lock_open(s, rnd.id) is None
        assert pulse.due_to_close(s, pid, closes_at) == []
        assert pulse.respondents(s, rnd.id) == set()
        assert pulse.joint_channel(s, pid) == "CJOINT"
