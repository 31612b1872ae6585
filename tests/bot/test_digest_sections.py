"""The digest's joint KPI and pulse sections: in Slack, in `tandem digest` and its --json.

A closed month reads the same whenever it is asked for: the KPIs as they
stood at its end (in the partnership's time zone), whatever was checked in,
edited or removed after it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.digest import build_occurrences, compute_digest, render
from bot.pulse.closing import close_round
from rituals.kpi import Cadence, Direction
from storage import kpis, pulse
from storage.db import transaction
from storage.models import Outbox, PulseRespondent
from tests.bot.test_digest import (
    APRIL_FIRST_0900_BERLIN,
    CREATED,
    MARCH,
    World,
    _occurrence,
    _ritual,
    add,
    busy_month,
    seed_world,
)

# Midnight at the end of March in Berlin (summer time from the 30th): 22:00 UTC on the 31st.
MARCH_END = datetime(2025, 3, 31, 22, 0, tzinfo=UTC)


def _kpi(sessions: sessionmaker[Session], world: World) -> int:
    with transaction(sessions) as s:
        kpi_id = kpis.add_kpi(
            s,
            kpis.NewKpi(
                world.workspace_id,
                world.partnership_id,
                "Lead time",
                "days",
                Direction.LOWER,
                20.0,
                10.0,
                date(2025, 1, 6),
                date(2025, 6, 30),
                Cadence.WEEKLY,
                "UMAR1",
                (
                    (world.member("UMAR2"), world.teams["Marketing"]),
                    (world.member("UIT2"), world.teams["IT"]),
                ),
            ),
            CREATED,
        )
        for week, value in enumerate((19.0, 18.0, 17.0)):
            at = datetime(2025, 3, 10, 9, tzinfo=UTC) + timedelta(weeks=week)
            team = "Marketing" if week % 2 else "IT"
            member = world.member("UMAR2" if week % 2 else "UIT2")
            period = f"2025-W{at.isocalendar().week:02d}"
            kpis.add_checkin(s, kpi_id, member, world.teams[team], period, value, "", at)
        # 23:30 on 31 March in Berlin: still March there, though 1 April in some zones.
        kpis.add_checkin(
            s,
            kpi_id,
            world.member("UMAR2"),
            world.teams["Marketing"],
            "2025-W14",
            16.0,
            "",
            MARCH_END - timedelta(minutes=30),
        )
    return kpi_id


def _closed_pulse(sessions: sessionmaker[Session], world: World) -> None:
    with transaction(sessions) as s:
        rnd = pulse.open_round(
            s, world.partnership_id, "2025-03", {world.teams["Marketing"]: 6, world.teams["IT"]: 5}
        )
        for i, score in enumerate((5, 4, 4, 2, 3, 5), start=1):
            pulse.answer(
                s,
                rnd.id,
                world.member(f"UMAR{i}"),
                world.teams["Marketing"],
                score,
                f"idea {i} from Marketing person {i}",
            )
        pulse.answer(s, rnd.id, world.member("UIT1"), world.teams["IT"], 1, "too few to show")
        close_round(s, rnd.id, MARCH_END)


def _march(sessions: sessionmaker[Session], world: World) -> str:
    with sessions() as s:
        digest = compute_digest(s, world.partnership_id, MARCH)
    return json.dumps(
        [render(digest).message, digest.as_dict()], sort_keys=True, ensure_ascii=False
    )


def test_a_closed_month_shows_the_kpis_as_they_stood_at_its_end(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    add(session_factory, busy_month(world, MARCH, 6, 18))
    kpi_id = _kpi(session_factory, world)
    before = _march(session_factory, world)
    data = json.loads(before)[1]["joint_kpis"]
    assert data["as_of"] == "2025-03-31"
    [lead] = data["kpis"]
    assert lead["value"] == 16.0 and lead["previous"] == 17.0 and lead["progress_pct"] == 40
    assert lead["checked_in_by"] == ["Marketing"] and lead["checkin"] == "done"
    assert "Joint KPIs* (as of 31 March)" in before and "16 days of 10 days" in before

    # April: a check-in, a new target and name, then the KPI is removed.
    with transaction(session_factory) as s:
        kpis.add_checkin(
            s, kpi_id, world.member("UIT2"), world.teams["IT"], "2025-W14", 12.0, "", MARCH_END
        )
        kpis.edit_kpi(
            s, kpi_id, {"name": "Cycle time", "target": 8.0}, None, 0, MARCH_END + timedelta(days=1)
        )
        kpis.set_removed(s, kpi_id, MARCH_END + timedelta(days=2))
    assert _march(session_factory, world) == before
    with session_factory() as s:
        april = compute_digest(s, world.partnership_id, MARCH.shifted(1))
    assert april.section_data["joint_kpis"]["kpis"] == []  # removed before April ended


def test_digest_json_and_text_carry_both_sections_and_no_person(
    session_factory: sessionmaker[Session],
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TANDEM_DATABASE_URL", db_url)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    world = seed_world(session_factory)
    add(session_factory, busy_month(world, MARCH, 6, 18))
    _kpi(session_factory, world)
    _closed_pulse(session_factory, world)

    args = ["digest", "--partnership", "Marketing + IT", "--month", "2025-03"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [k["name"] for k in data["joint_kpis"]["kpis"]] == ["Lead time"]
    found = data["pulse"]
    assert found["month"] == "2025-03" and found["reference_pct"] == 46
    marketing, it = found["teams"]
    assert marketing["team"] == "Marketing" and marketing["shown"]
    assert (marketing["effective_pct"], marketing["mean"], marketing["answers"]) == (67, 3.8, 6)
    assert marketing["response_pct"] == 100 and marketing["gives_pct"] == 25
    assert len(marketing["comments"]) == 5
    assert it == {"team": "IT", "shown": False}
    assert found["perception"] == [
        "Marketing: 67 % effective, and Marketing gives 25 % of the help"
    ]

    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Joint KPIs (as of 31 March)" in text and "How the collaboration feels" in text
    for shown in (json.dumps(data, ensure_ascii=False), text):
        assert "too few to show" not in shown
        for slack_id in world.people:
            assert slack_id not in shown
        assert "Marketing person" not in shown and "UMAR" not in shown


def test_the_digest_closes_a_pulse_whose_job_has_not_run(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    with transaction(session_factory) as s:
        rnd = pulse.open_round(
            s, world.partnership_id, "2025-03", {world.teams["Marketing"]: 6}, MARCH_END
        )
        for i in range(1, 6):
            pulse.answer(s, rnd.id, world.member(f"UMAR{i}"), world.teams["Marketing"], 4, None)
    ritual = _ritual(session_factory, world)
    with transaction(session_factory) as s:
        build_occurrences(s, ritual, [_occurrence(ritual.id, APRIL_FIRST_0900_BERLIN)], MARCH_END)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(PulseRespondent)) == 0
        closed = pulse.get_round(s, rnd.id)
        posts = {
            r.payload["channel"]: r.payload
            for r in s.scalars(select(Outbox).where(Outbox.method == "chat.postMessage"))
        }
    assert closed is not None and closed.closed and closed.results is not None
    assert "has closed" in posts["CJOINT"]["text"]
    assert "100 % rate it effective" in json.dumps(posts["UIT1"]["blocks"], ensure_ascii=False)
