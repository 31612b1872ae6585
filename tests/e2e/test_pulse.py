"""The pulse end to end: ask → answer (and edit) → close (its own job) → the digest's section.

Marketing has six members and IT four, so IT stays under the minimum group
size of five whatever its members answer, and the leaders' digest must show
Marketing's result and comments and nothing of IT's but that it is hidden.
The partnership keeps the default months (UTC), so the round closes at
midnight UTC at the end of March.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.digest import digest_ritual_defaults
from bot.job_handlers import HANDLERS
from bot.jobs import JobRunner
from bot.outbox import OutboxSender, Pacer
from bot.pulse.closing import PULSE_CLOSE
from bot.pulse.views import (
    COMMENT_ACTION,
    COMMENT_BLOCK,
    OPEN_ACTION_ID,
    SCORE_ACTION,
    SCORE_BLOCK,
    VIEW_CALLBACK_ID,
)
from bot.tick import tick
from rituals.interactions import InterdependenceType, RitualKind
from storage import org
from storage import rituals as ritual_store
from storage.db import transaction
from storage.models import Job, PulseAnswer, PulseRespondent, PulseRound
from tests.e2e.conftest import RunningBot
from tests.fakes.signed import block_actions_payload, view_submission_payload
from tests.fakes.slack_api import DEFAULT_TOKEN, TEAM_ID, Call

pytestmark = pytest.mark.e2e

MARKETING = ["UM1", "UM2", "UM3", "UM4", "UM5", "UM6"]
IT = ["UI1", "UI2", "UI3", "UI4"]
NAMES = {uid: f"person{uid[1:].lower()}" for uid in MARKETING + IT}
START = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
FRIDAY_27 = datetime(2026, 3, 27, 15, 0, 5, tzinfo=UTC)  # 15:00 GMT, not the pulse day
MONDAY_30 = datetime(2026, 3, 30, 14, 0, 5, tzinfo=UTC)  # 15:00 BST, second-to-last working day
MONTH_END = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)  # the partnership's months are UTC
DIGEST_AT = datetime(2026, 4, 1, 8, 0, 5, tzinfo=UTC)  # 09:00 BST, first working day


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Pulse:
    bot: RunningBot
    clock: Clock

    def tick(self, at: datetime) -> None:
        """The worker at `at`: the tick, the due jobs, then the outbox."""
        self.clock.now = at
        tick(self.bot.services, at)
        client = WebClient(token=DEFAULT_TOKEN, base_url=self.bot.fake.url, retry_handlers=[])
        runner = JobRunner(self.bot.services, client, HANDLERS, clock=self.clock)
        while runner.run_once(limit=10):
            pass
        sender = OutboxSender(
            self.bot.services.sessions,
            client,
            self.bot.services.settings,
            "e2e",
            clock=self.clock,
            pacer=Pacer(1000, channel_interval=0.0),
        )
        while sender.run_once(at):
            pass

    def submit(self, user_id: str, round_id: str, score: str | None, comment: str = "") -> str:
        values: dict[str, dict[str, dict[str, object]]] = {
            COMMENT_BLOCK: {COMMENT_ACTION: {"type": "plain_text_input", "value": comment}},
            SCORE_BLOCK: {
                SCORE_ACTION: {
                    "type": "radio_buttons",
                    "selected_option": {"value": score} if score else None,
                }
            },
        }
        payload = view_submission_payload(
            VIEW_CALLBACK_ID, values, user_id=user_id, private_metadata=round_id
        )
        response = self.bot.slack.interaction(payload)
        assert response.status == 200
        return json.dumps(response.json())


@pytest.fixture
def pulse_bot(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pulse]:
    clock = Clock(START)
    monkeypatch.setattr("bot.pulse.listeners.utcnow", clock)
    monkeypatch.setattr("bot.listeners.home.utcnow", clock)
    for uid in [*MARKETING, *IT, "ULEAD"]:
        bot.fake.add_user(uid, name=NAMES.get(uid, "lead"), tz="Europe/London")
    bot.fake.add_channel("CJOINT", "mkt-it", MARKETING + IT)
    workspace = bot.services.workspace_id(TEAM_ID)
    with transaction(bot.services.sessions) as session:
        marketing = org.add_team(session, workspace, "Marketing", "usergroup", "SMKT", START).id
        it = org.add_team(session, workspace, "IT", "usergroup", "SIT", START).id
        ids = org.upsert_members(
            session,
            workspace,
            [org.MemberProfile(uid, NAMES[uid], "Europe/London") for uid in MARKETING + IT],
            START,
        )
        org.set_team_roster(session, marketing, {ids[u] for u in MARKETING}, START)
        org.set_team_roster(session, it, {ids[u] for u in IT}, START)
        partnership = org.add_partnership(
            session,
            workspace,
            "Marketing + IT",
            ["Marketing", "IT"],
            "CJOINT",
            ["ULEAD"],
            InterdependenceType.RECIPROCAL,
            START,
        )
        ritual_store.create(
            session,
            partnership_id=partnership.id,
            kind=RitualKind.PULSE,
            cron="0 15 20-31 * 1-5",
            timezone="member-local",
            now=START,
        )
        digest = digest_ritual_defaults("Europe/London")
        ritual_store.create(
            session,
            partnership_id=partnership.id,
            kind=RitualKind.DIGEST,
            cron=digest["cron"],
            timezone="Europe/London",
            settings=digest["settings"],
            now=START,
        )
    yield Pulse(bot, clock)


def _posts(calls: list[Call], channel: str) -> list[Call]:
    return [
        c for c in calls if c.method == "chat.postMessage" and c.params.get("channel") == channel
    ]


def _dms(calls: list[Call], user_id: str) -> list[Call]:
    return [
        c for c in calls if c.method == "chat.postMessage" and c.params.get("channel") == user_id
    ]


def test_ask_answer_edit_close_and_digest_keep_people_out_of_sight(pulse_bot: Pulse) -> None:
    fake = pulse_bot.bot.fake
    pulse_bot.tick(FRIDAY_27)
    assert all(_dms(fake.calls, u) == [] for u in MARKETING + IT)  # not the pulse day
    pulse_bot.tick(MONDAY_30)
    asks = {u: _dms(fake.calls, u) for u in MARKETING + IT}
    assert all(len(found) == 1 for found in asks.values())
    button = asks["UM1"][0].json_param("blocks")[1]["elements"][0]
    assert button["action_id"] == OPEN_ACTION_ID
    round_id = button["value"]

    # The button opens the form for a member; an outsider is told it is not for them.
    opened = len(fake.calls_to("views.open"))
    payload = block_actions_payload(OPEN_ACTION_ID, round_id, user_id="UM1", channel_id="DUM1")
    assert pulse_bot.bot.slack.interaction(payload).status == 200
    form = fake.wait_for("views.open", count=opened + 1)[opened].json_param("view")
    assert form["callback_id"] == VIEW_CALLBACK_ID and "IT" in json.dumps(form)

    # No score: an inline error, nothing stored.
    assert "Pick a number" in pulse_bot.submit("UM1", round_id, None)
    marketing = [
        ("5", "More shared planning"),
        ("4", "Ask <@UI1> earlier"),
        ("4", "Personi2 fixed our build"),
        ("2", "@someone should share plans <!channel>"),
        ("3", "Demo days"),
        ("5", ""),
    ]
    pulse_bot.submit("UM1", round_id, "1", "first thought")  # edited below
    for uid, (score, comment) in zip(MARKETING, marketing, strict=True):
        assert "your answer is in" in pulse_bot.submit(uid, round_id, score, comment)
    for uid in IT[:3]:
        pulse_bot.submit(uid, round_id, "1", "We carry it all")
    with pulse_bot.bot.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PulseAnswer)) == 9
        assert session.scalar(select(func.count()).select_from(PulseRespondent)) == 9

    # The last working day: one reminder, only to those asked who have not answered.
    pulse_bot.tick(MONDAY_30 + timedelta(days=1))
    assert len(_dms(fake.calls, "UI4")) == 2
    assert "A reminder" in json.dumps(_dms(fake.calls, "UI4")[1].json_param("blocks"))
    assert all(len(_dms(fake.calls, u)) == 1 for u in MARKETING + IT[:3])
    pulse_bot.tick(MONDAY_30 + timedelta(days=1, minutes=1))
    assert len(_dms(fake.calls, "UI4")) == 2

    # Opening the round queued its close: a job of its own, due when the month ends.
    with pulse_bot.bot.services.sessions() as session:
        [job] = session.scalars(select(Job).where(Job.kind == PULSE_CLOSE)).all()
        closes_at = session.scalar(select(PulseRound.closes_at))
    assert job.run_after == closes_at == MONTH_END and job.ritual_id is None
    # Once the month is over no answer is taken, even before the job has run.
    pulse_bot.clock.now = MONTH_END
    assert "has closed" in pulse_bot.submit("UM2", round_id, "5", "late")

    # The job closes the round: who answered is forgotten, the joint channel is told.
    pulse_bot.tick(MONTH_END + timedelta(seconds=5))
    with pulse_bot.bot.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PulseRespondent)) == 0
        assert session.scalar(select(PulseRound.closed_at)) is not None
        assert session.scalar(select(Job.state).where(Job.kind == PULSE_CLOSE)) == "done"
    [notice] = _posts(fake.calls, "CJOINT")
    assert "has closed" in notice.params["text"] and "App Home" in notice.params["text"]
    assert "has closed" in pulse_bot.submit("UM2", round_id, "5", "late")
    assert _dms(fake.calls, "ULEAD") == []  # the digest comes later, on its own schedule

    # The first working day: the digest reports the closed round.
    pulse_bot.tick(DIGEST_AT)
    [digest] = _dms(fake.calls, "ULEAD")
    text = json.dumps(digest.json_param("blocks"), ensure_ascii=False)
    assert "How the collaboration feels" in text
    assert (
        "*Marketing*: 67 % rate it effective (4–5) · mean 3.8 of 5 · 6 of 6 answered (100 %)"
        in text
    )
    assert "*IT*: fewer than 5 answers" in text
    assert "46 %" in text
    assert "We carry it all" not in text  # IT's comments: fewer than 5
    assert "first thought" not in text  # the edit replaced it
    for shown in ("More shared planning", "Demo days", "[removed] fixed our build"):
        assert shown in text
    # No leader-facing line can be tied to a person: no id, no name, no broadcast.
    for uid in MARKETING + IT:
        assert uid not in text and NAMES[uid] not in text
    assert "<!channel>" not in text and "@someone" not in text


def test_members_see_their_teams_result_once_the_pulse_closed(pulse_bot: Pulse) -> None:
    pulse_bot.tick(MONDAY_30)
    round_id = _dms(pulse_bot.bot.fake.calls, "UM1")[0].json_param("blocks")[1]["elements"][0][
        "value"
    ]
    for uid in MARKETING[:5]:
        pulse_bot.submit(uid, round_id, "4")
    assert "Your team's collaboration pulse" not in _home(pulse_bot, "UM1")  # still open
    pulse_bot.tick(MONTH_END + timedelta(minutes=1))  # the close job, not the digest
    assert "Marketing, 2026-03: 100 % rated the collaboration effective" in _home(pulse_bot, "UM1")
    assert "IT, 2026-03: fewer than 5 answers" in _home(pulse_bot, "UI1")


def _home(pulse_bot: Pulse, user_id: str) -> str:
    fake = pulse_bot.bot.fake
    before = len([c for c in fake.calls_to("views.publish") if c.params.get("user_id") == user_id])
    event = {"type": "app_home_opened", "user": user_id, "channel": "DHOME", "tab": "home"}
    assert pulse_bot.bot.slack.event(event).status == 200
    for _ in range(200):  # the Home is built after the ack: a bounded number of polls
        pulse_bot.tick(pulse_bot.clock.now)
        published = [
            c for c in fake.calls_to("views.publish") if c.params.get("user_id") == user_id
        ]
        if len(published) > before:
            return json.dumps(published[-1].json_param("view"), ensure_ascii=False)
        time.sleep(0.05)
    raise AssertionError("no Home was published")
