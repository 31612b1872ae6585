"""No leader-facing pulse output can be joined back to a person.

Everything leaders and members are shown of a closed pulse (the digest's
blocks, `tandem digest --json`'s pulse, a member's App Home line, the
channel's closing notice) must be a function of the answers alone: the same
answers given by other people, in another order, produce byte-identical
output; no output holds a member's id, Slack id or name; and once the round
is closed no row links an answer to a member.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from bot.pulse.closing import close_round, closed_notice
from bot.pulse.digest_section import blocks, section
from bot.pulse.home import member_pulse_text
from rituals.interactions import InterdependenceType
from storage import org, pulse
from storage.db import transaction
from storage.models import PulseAnswer, PulseRespondent, PulseRound

NOW = datetime(2026, 3, 30, 14, 0, tzinfo=UTC)
PEOPLE = 10
ANSWERS = [
    (5, "More demos"),
    (4, "Shared roadmap with Alex Rivera"),
    (4, None),
    (2, "Plan together"),
    (3, "Earlier asks, @jo"),
    (5, "Joint retro"),
    (1, None),
]


def _outputs(
    session_factory: sessionmaker[Session],
    answers: list[tuple[int, str | None]],
    who: list[int],
    tag: str,
) -> tuple[str, list[str]]:
    """Every output of the closed round, as one string, and the people who could leak."""
    with transaction(session_factory) as s:
        ws = org.ensure_workspace(s, f"T{tag}", NOW)
        mkt = org.add_team(s, ws, "Marketing", "usergroup", f"S1{tag}", NOW).id
        it = org.add_team(s, ws, "IT", "usergroup", f"S2{tag}", NOW).id
        uids = [f"U{tag.upper()}{i:02d}" for i in range(PEOPLE)]
        names = {u: ("Alex Rivera" if i == 1 else f"person {tag}{i}") for i, u in enumerate(uids)}
        ids = org.upsert_members(
            s,
            ws,
            [org.MemberProfile(u, names[u], "UTC") for u in uids],
            NOW - timedelta(days=9),
        )
        org.set_team_roster(s, mkt, {ids[u] for u in uids}, NOW - timedelta(days=9))
        partnership = org.add_partnership(
            s, ws, "P", ["Marketing", "IT"], f"C{tag}", [], InterdependenceType.RECIPROCAL, NOW
        )
        rnd = pulse.open_round(s, partnership.id, "2026-03", {mkt: PEOPLE, it: 2})
        for person, answer in zip(who, answers, strict=True):
            pulse.answer(s, rnd.id, ids[uids[person]], mkt, answer[0], answer[1])
        closed = close_round(s, rnd.id, NOW)
        assert closed is not None
    with transaction(session_factory) as s:
        # After the close, nothing ties an answer to a member.
        assert (
            s.scalars(select(PulseRespondent).where(PulseRespondent.round_id == rnd.id)).all() == []
        )
        stored = s.scalar(select(PulseRound.results).where(PulseRound.id == rnd.id))
        found = section(s, partnership.id, "2026-03", {mkt: "Marketing", it: "IT"}, {mkt: 40})
        assert found is not None
        home = member_pulse_text(s, ws, uids[0], (mkt,))
    out = [
        json.dumps(blocks(found), sort_keys=True),
        json.dumps(found.as_dict(), sort_keys=True),
        json.dumps({"Marketing" if int(k) == mkt else "IT": v for k, v in (stored or {}).items()}),
        home,
        closed_notice(closed, "CJOINT").payload["text"],
    ]
    people = [*uids, *names.values()]
    return "\n".join(out), people


def test_who_answered_what_changes_nothing_anyone_is_shown(
    session_factory: sessionmaker[Session],
) -> None:
    first, people_a = _outputs(session_factory, ANSWERS, list(range(len(ANSWERS))), "a")
    shuffled = list(ANSWERS)
    random.Random(7).shuffle(shuffled)
    assert shuffled != ANSWERS
    # Other people (the last seven instead of the first), answering in another order.
    others = list(reversed(range(PEOPLE)))[: len(ANSWERS)]
    second, people_b = _outputs(session_factory, shuffled, others, "b")
    assert first == second
    assert "More demos" in first and "Marketing" in first and "57 % rate it effective" in first
    for person in [*people_a, *people_b, "Alex", "Rivera", "@jo"]:
        assert person not in first, person


def test_the_answer_table_cannot_hold_a_person() -> None:
    assert {c.key for c in inspect(PulseAnswer).columns} == {
        "id",
        "round_id",
        "team_id",
        "score",
        "comment",
    }
