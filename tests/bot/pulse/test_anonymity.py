"""No leader-facing pulse output can be joined back to a person.

The same answers given by different people, in a different order, must
produce byte-identical digest sections; and once the round is closed no
row links an answer to a member.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.pulse.digest_section import section_blocks
from rituals.interactions import InterdependenceType
from storage import org, pulse
from storage.db import transaction
from storage.models import PulseRespondent

NOW = datetime(2026, 3, 30, 14, 0, tzinfo=UTC)
ANSWERS = [
    (5, "More demos"),
    (4, "Shared roadmap"),
    (4, None),
    (2, "Plan together"),
    (3, "Earlier asks"),
    (5, "Joint retro"),
    (1, None),
]


def _section(
    session_factory: sessionmaker[Session],
    answers: list[tuple[int, str | None]],
    tag: str,
) -> list[dict[str, object]]:
    with transaction(session_factory) as s:
        ws = org.ensure_workspace(s, f"T{tag}", NOW)
        mkt = org.add_team(s, ws, "Marketing", "usergroup", f"S1{tag}", NOW).id
        it = org.add_team(s, ws, "IT", "usergroup", f"S2{tag}", NOW).id
        uids = [f"U{tag}{i}" for i in range(len(ANSWERS))]
        ids = org.upsert_members(
            s, ws, [org.MemberProfile(u, u.lower(), "UTC") for u in uids], NOW - timedelta(days=9)
        )
        partnership = org.add_partnership(
            s, ws, "P", ["Marketing", "IT"], f"C{tag}", [], InterdependenceType.RECIPROCAL, NOW
        )
        rnd = pulse.open_round(s, partnership.id, "2026-03", {mkt: 9, it: 2})
        for person, answer in enumerate(answers):
            pulse.answer(s, rnd.id, ids[uids[person]], mkt, answer[0], answer[1])
        pulse.close(s, rnd.id, NOW)
        assert (
            s.scalars(select(PulseRespondent).where(PulseRespondent.round_id == rnd.id)).all() == []
        )
        return section_blocks(s, partnership.id, "2026-03", {mkt: "Marketing", it: "IT"}, {}, [])


def test_who_answered_what_changes_nothing_leaders_see(
    session_factory: sessionmaker[Session],
) -> None:
    first = _section(session_factory, ANSWERS, "a")
    shuffled = list(ANSWERS)
    random.Random(7).shuffle(shuffled)
    assert shuffled != ANSWERS
    second = _section(session_factory, shuffled, "b")
    assert first and first == second
    text = str(first)
    assert "More demos" in text and "Marketing" in text
