"""The kudos service: partnership choice, the allowance in local time, +1 rules, the weekly prompt."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.kudos import (
    GiveRequest,
    KudosService,
    Posted,
    build_kudos_prompts,
    choose_partnership,
    cross_team_label,
    form_text,
    plain,
    week_start,
)
from bot.ritual_builders import default_registry
from bot.services import Services
from bot.settings import load_settings
from bot.tick import tick
from bot.views.kudos import PROMPT_PICK_ACTION_ID
from rituals.interactions import InterdependenceType, RitualKind
from rituals.kudos import KudosDraft, parse_kudos
from rituals.refusal import Refusal
from storage import kudos as store
from storage import org, rituals
from storage.db import make_engine, make_session_factory, transaction
from storage.models import (
    Interaction,
    Kudos,
    KudosRecipient,
    Member,
    Outbox,
    ShadowPairing,
    ShadowParticipant,
    ShadowRound,
)
from storage.occurrences import WonOccurrence
from tests.fakes import FakeSlack
from tests.fakes.slack_api import DEFAULT_TOKEN, TEAM_ID

# Thursday 12 March 2026, 15:00 in London (UTC+0 until the 29th).
THURSDAY = datetime(2026, 3, 12, 15, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_channel("CJOINT", "mkt-it", [])
        server.add_channel("CSALES", "mkt-sales", [])
        yield server


@pytest.fixture
def services(db_url: str, fake: FakeSlack) -> Iterator[Services]:
    engine = make_engine(db_url)
    settings = load_settings(
        _env_file=None,
        TANDEM_DATABASE_URL=db_url,
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_API_URL=fake.url,
    )
    made = Services(settings, engine, make_session_factory(engine))
    yield made
    made.close()


@dataclass
class World:
    workspace: int
    partnership: int
    teams: dict[str, int]
    ids: dict[str, int]  # slack id -> member id


def _world(
    session: Session,
    marketing: Mapping[str, str | None],
    it: Mapping[str, str | None],
    settings: dict[str, Any] | None = None,
) -> World:
    """Teams Marketing and IT around #CJOINT; each dict maps Slack ids to time zones."""
    workspace = org.ensure_workspace(session, TEAM_ID, THURSDAY)
    teams = {
        "Marketing": org.add_team(
            session, workspace, "Marketing", "usergroup", "SMKT", THURSDAY
        ).id,
        "IT": org.add_team(session, workspace, "IT", "usergroup", "SIT", THURSDAY).id,
    }
    people = {**marketing, **it}
    ids = org.upsert_members(
        session,
        workspace,
        [org.MemberProfile(uid, uid[1:].lower(), tz) for uid, tz in people.items()],
        THURSDAY - timedelta(days=60),
    )
    joined = THURSDAY - timedelta(days=60)
    org.set_team_roster(session, teams["Marketing"], {ids[u] for u in marketing}, joined)
    org.set_team_roster(session, teams["IT"], {ids[u] for u in it}, joined)
    partnership = org.add_partnership(
        session,
        workspace,
        "Marketing + IT",
        ["Marketing", "IT"],
        "CJOINT",
        [],
        InterdependenceType.RECIPROCAL,
        THURSDAY,
    )
    partnership.settings = dict(settings or {})
    return World(workspace, partnership.id, teams, ids)


def _client(fake: FakeSlack) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=fake.url, retry_handlers=[])


# --- small pieces ----------------------------------------------------------------


def test_form_fields_read_like_the_command() -> None:
    text = form_text(["U01", "U02"], "  the <fast> fix & #1 rollback ", ["ownership"])
    assert text == "<@U01> <@U02> for the &lt;fast&gt; fix &amp; #1 rollback #ownership"
    draft = parse_kudos(text, ["ownership"])
    assert isinstance(draft, KudosDraft)
    assert draft.reason == "the &lt;fast&gt; fix &amp; #1 rollback"
    assert draft.user_ids == ("U01", "U02") and draft.values == ("ownership",)


def test_plain_messages_name_people_without_markup() -> None:
    message = "<@U1> is a bot; <@U2|jo> has left; `code`"
    assert plain(message, {"U1": "robot"}) == "@robot is a bot; @jo has left; code"


def test_cross_team_label_names_the_other_teams() -> None:
    teams = {1: "Marketing", 2: "IT", 3: "Sales"}
    assert cross_team_label(1, [2, 1, 3, 2], teams) == "Marketing thanks IT and Sales"
    assert cross_team_label(2, [1], teams) == "IT thanks Marketing"
    assert cross_team_label(1, [1], teams) is None
    assert cross_team_label(None, [2], teams) is None


def test_week_start_is_local_monday_midnight_across_dst() -> None:
    # London moves to BST on Sunday 29 March 2026; the next Monday starts at 23:00 UTC.
    after = datetime(2026, 4, 2, 14, 0, tzinfo=UTC)
    assert week_start("Europe/London", after) == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    # Monday 00:30 in Kolkata is Sunday 19:00 UTC: already the new week there.
    monday_early = datetime(2026, 3, 8, 19, 0, tzinfo=UTC)
    assert week_start("Asia/Kolkata", monday_early) == datetime(2026, 3, 8, 18, 30, tzinfo=UTC)
    assert week_start("Not/AZone", THURSDAY) == datetime(2026, 3, 9, tzinfo=UTC)


def test_the_partnership_is_the_channels_else_the_oldest(services: Services) -> None:
    with transaction(services.sessions) as session:
        w = _world(session, {"UANA": None}, {"UIVY": None})
        sales = org.add_team(session, w.workspace, "Sales", "usergroup", "SSALES", THURSDAY)
        org.set_team_roster(session, sales.id, {w.ids["UIVY"]}, THURSDAY)
        second = org.add_partnership(
            session,
            w.workspace,
            "Sales + Marketing",
            ["Sales", "Marketing"],
            "CSALES",
            [],
            InterdependenceType.POOLED,
            THURSDAY,
        ).id
    with services.sessions() as session:
        pick = choose_partnership
        assert pick(session, w.workspace, "UANA", "CSALES").id == second  # type: ignore[union-attr]
        assert pick(session, w.workspace, "UANA", "CELSE").id == w.partnership  # type: ignore[union-attr]
        assert pick(session, w.workspace, "UANA", "CJOINT", second).id == second  # type: ignore[union-attr]
        assert pick(session, w.workspace, "UNOBODY", "CJOINT") is None


# --- giving --------------------------------------------------------------------------


def test_the_allowance_resets_at_the_givers_local_midnight(
    services: Services, fake: FakeSlack
) -> None:
    with transaction(services.sessions) as session:
        w = _world(
            session,
            {"UANA": "Asia/Kolkata"},
            {"UIVY": "UTC", "UJO": "UTC"},
            settings={"kudos_daily_limit": 1},
        )
    service = KudosService(services)
    late_evening = datetime(2026, 3, 12, 17, 0, tzinfo=UTC)  # 22:30 in Kolkata
    request = GiveRequest(w.workspace, "UANA", "CJOINT", "<@UIVY> for the fix")
    assert isinstance(service.give(_client(fake), request, late_evening), Posted)
    refused = service.give(_client(fake), request, late_evening + timedelta(minutes=30))
    assert isinstance(refused, Refusal)
    assert "in 1 h" in refused.message and "daily limit" in refused.message
    # 18:30 UTC is midnight in Kolkata: a new day there, though not in London or UTC.
    assert isinstance(
        service.give(_client(fake), request, datetime(2026, 3, 12, 18, 30, tzinfo=UTC)), Posted
    )


def test_people_tandem_never_saw_are_looked_up_in_slack(
    services: Services, fake: FakeSlack
) -> None:
    fake.add_user("UNEW", tz="UTC")
    fake.add_user("UROBOT", is_bot=True)
    with transaction(services.sessions) as session:
        w = _world(session, {"UANA": None}, {"UIVY": None})
    service = KudosService(services)
    refused = service.give(
        _client(fake),
        GiveRequest(w.workspace, "UANA", "CJOINT", "<@UNEW> <@UROBOT> for the fix"),
        THURSDAY,
    )
    assert isinstance(refused, Refusal)
    assert (
        "<@UNEW> isn't in any team" in refused.message and "<@UROBOT> is a bot" in refused.message
    )
    assert sorted(c.params["user"] for c in fake.calls_to("users.info")) == ["UNEW", "UROBOT"]
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Kudos)) == 0


def test_giving_enqueues_exactly_one_post(services: Services, fake: FakeSlack) -> None:
    with transaction(services.sessions) as session:
        w = _world(session, {"UANA": None}, {"UIVY": None})
    posted = KudosService(services).give(
        _client(fake), GiveRequest(w.workspace, "UANA", "CJOINT", "<@UIVY> for the fix"), THURSDAY
    )
    assert isinstance(posted, Posted) and posted.receiver_ids == ("UIVY",)
    with services.sessions() as session:
        [row] = session.scalars(select(Outbox)).all()
        assert row.payload["channel"] == "CJOINT" and row.channel_key == "CJOINT"
        assert row.idempotency_key == f"kudos:{posted.kudos_id}:post"


def test_a_failure_while_writing_leaves_nothing_behind(
    services: Services, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(services.sessions) as session:
        w = _world(session, {"UANA": None}, {"UIVY": None})

    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("database went away")

    monkeypatch.setattr("bot.kudos.enqueue", broken)
    with pytest.raises(RuntimeError):
        KudosService(services).give(
            _client(fake),
            GiveRequest(w.workspace, "UANA", "CJOINT", "<@UIVY> for the fix"),
            THURSDAY,
        )
    with services.sessions() as session:
        written = [
            session.scalar(select(func.count()).select_from(model))
            for model in (Kudos, KudosRecipient, Interaction, Outbox)
        ]
    assert written == [0, 0, 0, 0]


def test_givers_and_receivers_cannot_plus_one_their_own_kudos(
    services: Services, fake: FakeSlack
) -> None:
    with transaction(services.sessions) as session:
        w = _world(session, {"UANA": None, "UBEN": None}, {"UIVY": None})
    service = KudosService(services)
    posted = service.give(
        _client(fake), GiveRequest(w.workspace, "UANA", "CJOINT", "<@UIVY> for the fix"), THURSDAY
    )
    assert isinstance(posted, Posted)
    kid = posted.kudos_id
    assert "your voice is already in them" in (
        service.second(_client(fake), w.workspace, "UANA", kid, THURSDAY) or ""
    )
    assert "for you" in (service.second(_client(fake), w.workspace, "UIVY", kid, THURSDAY) or "")
    assert service.second(_client(fake), w.workspace, "UBEN", kid, THURSDAY) is None
    assert "already" in (service.second(_client(fake), w.workspace, "UBEN", kid, THURSDAY) or "")
    assert "can't find" in (service.second(_client(fake), w.workspace, "UBEN", 999, THURSDAY) or "")
    with services.sessions() as session:
        assert store.second_count(session, kid) == 1


# --- the weekly prompt ------------------------------------------------------------


def _occurrences(
    w: World, ritual_id: int, members: list[str], tz: str = "Europe/London"
) -> list[WonOccurrence]:
    return [
        WonOccurrence(
            id=index + 1,
            ritual_id=ritual_id,
            subject=f"member:{w.ids[uid]}",
            fire_key="2026-03-12T15:00",
            fire_at=THURSDAY,
            tz=tz,
            tz_fallback=False,
        )
        for index, uid in enumerate(members)
    ]


def _prompt_ritual(session: Session, w: World) -> rituals.RitualSnapshot:
    return rituals.create(
        session,
        partnership_id=w.partnership,
        kind=RitualKind.KUDOS_PROMPT,
        cron="0 15 * * 4",
        timezone="member-local",
        now=THURSDAY - timedelta(days=1),
    )


def _dms(session: Session) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Outbox).where(Outbox.method == "chat.postMessage")).all()
    return {r.payload["channel"]: r.payload for r in rows}


def _select(payload: dict[str, Any]) -> dict[str, Any]:
    accessory: dict[str, Any] = payload["blocks"][0]["accessory"]
    assert accessory["action_id"] == PROMPT_PICK_ACTION_ID
    return accessory


def _values(select_: dict[str, Any]) -> list[str]:
    if "option_groups" in select_:
        return [o["value"] for g in select_["option_groups"] for o in g["options"]]
    return [o["value"] for o in select_["options"]]


def test_the_prompt_skips_who_should_not_be_nudged(services: Services) -> None:
    london = "Europe/London"
    with transaction(services.sessions) as session:
        w = _world(
            session,
            {u: london for u in ("UANA", "UBEN", "UCY", "UDEE", "UEVE", "UFAY")},
            {"UIVY": "Asia/Kolkata", "UJO": "UTC"},
        )
        members = {m.slack_user_id: m for m in session.scalars(select(Member))}
        members["UBEN"].opted_out = ["kudos"]
        members["UCY"].away_until = date(2026, 3, 12)  # away through today
        members["UFAY"].away_until = date(2026, 3, 11)  # back today
        team = w.teams
        monday = datetime(2026, 3, 9, tzinfo=UTC)
        for giver, to, at in [
            ("UDEE", "UIVY", monday),  # cross-team this week: not nudged
            ("UEVE", "UIVY", monday - timedelta(seconds=1)),  # last week: nudged
            ("UFAY", "UANA", THURSDAY),  # same team this week: nudged
        ]:
            store.add_kudos(
                session,
                store.NewKudos(
                    w.workspace,
                    w.partnership,
                    w.ids[giver],
                    team["Marketing"],
                    "thanks",
                    (),
                    [
                        store.Receiver(
                            w.ids[to], team["IT" if to in ("UIVY", "UJO") else "Marketing"]
                        )
                    ],
                    at,
                ),
            )
        ritual = _prompt_ritual(session, w)
        build_kudos_prompts(
            session,
            ritual,
            _occurrences(w, ritual.id, ["UANA", "UBEN", "UCY", "UDEE", "UEVE", "UFAY"]),
            THURSDAY,
        )
    with services.sessions() as session:
        dms = _dms(session)
    assert sorted(dms) == ["UANA", "UEVE", "UFAY"]
    assert dms["UANA"]["text"] == "Who on IT helped you this week?"
    assert sorted(_values(_select(dms["UANA"]))) == ["UIVY", "UJO"]


def test_the_prompt_suggests_the_people_they_worked_with_first(services: Services) -> None:
    it = {f"UIT{n:03d}": "UTC" for n in range(120)}
    with transaction(services.sessions) as session:
        w = _world(session, {"UANA": "Europe/London"}, it)
        shadowing = rituals.create(
            session,
            partnership_id=w.partnership,
            kind=RitualKind.SHADOWING,
            cron="0 10 * * 1",
            timezone="UTC",
            now=THURSDAY - timedelta(days=30),
        )
        round_ = ShadowRound(
            ritual_id=shadowing.id,
            round_no=1,
            round_date=date(2026, 3, 9),
            created_at=THURSDAY - timedelta(days=3),
        )
        session.add(round_)
        session.flush()
        pairing = ShadowPairing(round_id=round_.id)
        session.add(pairing)
        session.flush()
        session.add_all(
            [
                ShadowParticipant(pairing_id=pairing.id, member_id=w.ids["UIT117"], role="host"),
                ShadowParticipant(pairing_id=pairing.id, member_id=w.ids["UANA"], role="shadower"),
            ]
        )
        ritual = _prompt_ritual(session, w)
        occurrences = _occurrences(w, ritual.id, ["UANA", "UIT005"])
        build_kudos_prompts(session, ritual, occurrences, THURSDAY)
        build_kudos_prompts(session, ritual, occurrences, THURSDAY)  # a retried build adds nothing
    with services.sessions() as session:
        dms = _dms(session)
        assert session.scalar(select(func.count()).select_from(Outbox)) == 2
    select_ = _select(dms["UANA"])
    groups = select_["option_groups"]
    assert groups[0]["label"]["text"] == "People you worked with"
    assert [o["value"] for o in groups[0]["options"]] == ["UIT117"]
    assert groups[1]["label"]["text"] == "Everyone on IT"
    values = _values(select_)
    assert len(values) == 100 and len(set(values)) == 100  # Slack's limit for a select
    assert dms["UANA"]["blocks"][0]["block_id"] == f"kudos_prompt:{w.partnership}"
    assert dms["UIT005"]["text"] == "Who on Marketing helped you this week?"
    assert _values(_select(dms["UIT005"])) == ["UANA"]


def test_a_manual_run_prompts_everyone(services: Services) -> None:
    with transaction(services.sessions) as session:
        w = _world(session, {"UANA": None}, {"UIVY": "Asia/Kolkata"})
        ritual = _prompt_ritual(session, w)
        manual = WonOccurrence(1, ritual.id, "", "manual:x", THURSDAY, "UTC", False)
        build_kudos_prompts(session, ritual, [manual], THURSDAY)
    with services.sessions() as session:
        assert sorted(_dms(session)) == ["UANA", "UIVY"]


def test_the_tick_builds_kudos_prompts_at_each_members_local_time(services: Services) -> None:
    with transaction(services.sessions) as session:
        w = _world(session, {"UANA": "Europe/London"}, {"UIVY": "America/New_York"})
        _prompt_ritual(session, w)
    assert "kudos_prompt" in default_registry().kinds()
    report = tick(services, THURSDAY + timedelta(seconds=30))  # 15:00 in London, 11:00 in New York
    assert report.won == 1 and report.failed == 0
    with services.sessions() as session:
        dms = _dms(session)
    assert list(dms) == ["UANA"]
    assert json.dumps(dms["UANA"]).count("UIVY") >= 1


def test_the_joint_channel_is_checked_once_a_minute_while_the_bot_is_in_it(
    services: Services, fake: FakeSlack
) -> None:
    with transaction(services.sessions) as session:
        w = _world(session, {"UANA": None}, {"UIVY": None, "UJO": None})
    clock = [1000.0]
    service = KudosService(services, clock=lambda: clock[0])
    request = GiveRequest(w.workspace, "UANA", "CJOINT", "<@UIVY> for the fix")
    assert isinstance(service.give(_client(fake), request, THURSDAY), Posted)
    clock[0] += 59
    assert isinstance(service.give(_client(fake), request, THURSDAY), Posted)
    assert len(fake.calls_to("conversations.info")) == 1
    # A minute on, Slack is asked again, and a bot removed from the channel is noticed.
    fake.add_channel("CJOINT", "mkt-it", ["UANA", "UIVY"], is_member=False)
    clock[0] += 2
    refused = service.give(_client(fake), request, THURSDAY)
    assert isinstance(refused, Refusal) and "I'm not in" in refused.message
    assert len(fake.calls_to("conversations.info")) == 2
    # A refusal is never remembered: the next kudos asks again.
    service.give(_client(fake), request, THURSDAY)
    assert len(fake.calls_to("conversations.info")) == 3
