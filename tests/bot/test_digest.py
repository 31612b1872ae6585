"""The leaders' digest: computed from the log, rendered without names, queued for each leader."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.digest import (
    LEADER_PREFIX,
    Month,
    PartnershipNotFound,
    as_of,
    build_occurrences,
    compute_digest,
    digest_ritual_defaults,
    find_partnership,
    render,
)
from bot.digest_text import METRIC_NAMES, render_table
from bot.outbox import FILES_UPLOAD_V2
from bot.ritual_builders import default_registry
from bot.views.digest import DEFINITIONS, EXPLAIN_ACTION_ID, EXPLAIN_CALLBACK_ID, explain_modal
from rituals.balance import NOT_ENOUGH_ACTIVITY, Action, Band, Metric
from rituals.interactions import InteractionKind, InterdependenceType, RitualKind
from storage import kudos as kudos_store
from storage import org
from storage import rituals as ritual_store
from storage.balance_snapshots import stored_months
from storage.db import transaction
from storage.interactions import NewInteraction, log
from storage.models import Outbox, Partnership
from storage.occurrences import WonOccurrence, member_subject
from storage.outbox import PARENT_REF

K = InteractionKind
CREATED = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
MARCH = Month(2025, 3)
TZ = "Europe/Berlin"


@dataclass
class World:
    workspace_id: int
    partnership_id: int
    teams: dict[str, int]
    people: dict[str, int]  # slack id -> member id

    def member(self, slack_id: str) -> int:
        return self.people[slack_id]


def seed_world(
    sessions: sessionmaker[Session],
    *,
    sizes: Sequence[tuple[str, int]] = (("Marketing", 6), ("IT", 5)),
    leaders: Sequence[str] = ("UMAR1", "UIT1"),
    settings: dict[str, object] | None = None,
    slack_team_id: str = "T1",
) -> World:
    """Teams named as given, people U<TEAM><n>; team ids are assigned so the last team's is lowest."""
    with transaction(sessions) as s:
        workspace_id = org.ensure_workspace(s, slack_team_id, CREATED)
        teams: dict[str, int] = {}
        people: dict[str, int] = {}
        for name, size in reversed(sizes):  # later teams get smaller ids
            code = name[:3].upper()
            profiles = [
                org.MemberProfile(
                    f"U{code}{i}",
                    f"{name} person {i}",
                    "America/Los_Angeles" if i == 1 and code == "MAR" else TZ,
                )
                for i in range(1, size + 1)
            ]
            ids = org.upsert_members(s, workspace_id, profiles, CREATED)
            team = org.add_team(s, workspace_id, name, "usergroup", f"S{code}", CREATED)
            org.set_team_roster(s, team.id, set(ids.values()), CREATED)
            teams[name] = team.id
            people.update(ids)
        partnership = org.add_partnership(
            s,
            workspace_id,
            " + ".join(name for name, _ in sizes),
            [name for name, _ in sizes],
            "CJOINT",
            list(leaders),
            InterdependenceType.RECIPROCAL,
            CREATED,
        )
        partnership.settings = {"timezone": TZ, **(settings or {})}
        return World(workspace_id, partnership.id, teams, people)


def flows(
    world: World,
    giver_team: str,
    giver: str,
    taker_team: str,
    taker: str,
    when: datetime,
    count: int = 1,
    kind: InteractionKind = K.HELP_GIVEN,
) -> list[NewInteraction]:
    return [
        NewInteraction(
            world.workspace_id,
            world.partnership_id,
            kind,
            world.member(giver),
            world.member(taker),
            world.teams[giver_team],
            world.teams[taker_team],
            when,
        )
        for _ in range(count)
    ]


def in_month(month: Month, day: int = 10) -> datetime:
    return datetime(month.year, month.month, day, 11, 0, tzinfo=UTC)


def busy_month(world: World, month: Month, mkt_gives: int, it_gives: int) -> list[NewInteraction]:
    """Marketing and IT helping each other, spread over several people."""
    mkt = sorted(p for p in world.people if p.startswith("UMAR"))
    it = sorted(p for p in world.people if p.startswith("UIT"))
    rows: list[NewInteraction] = []
    for i in range(mkt_gives):
        rows += flows(world, "Marketing", mkt[i % len(mkt)], "IT", it[i % len(it)], in_month(month))
    for i in range(it_gives):
        giver, taker = it[i % len(it)], mkt[(i + 2) % len(mkt)]
        rows += flows(world, "IT", giver, "Marketing", taker, in_month(month))
    return rows


def add(sessions: sessionmaker[Session], rows: list[NewInteraction]) -> None:
    with transaction(sessions) as s:
        log(s, *rows)


def digest_for(sessions: sessionmaker[Session], world: World, month: Month = MARCH):  # type: ignore[no-untyped-def]
    with sessions() as s:
        return compute_digest(s, world.partnership_id, month)


# --- months ----------------------------------------------------------------------


def test_months_parse_shift_and_find_the_last_complete_one() -> None:
    assert Month.parse("2025-03") == MARCH and MARCH.key == "2025-03"
    assert MARCH.label == "March 2025"
    assert Month(2025, 1).shifted(-1) == Month(2024, 12)
    assert Month(2024, 12).shifted(1) == Month(2025, 1)
    # 00:30 on 1 April in Berlin is still 31 March in UTC: March is over in Berlin only.
    moment = datetime(2025, 3, 31, 22, 30, tzinfo=UTC)
    assert Month.last_complete(moment, TZ) == MARCH
    assert Month.last_complete(moment, "UTC") == Month(2025, 2)
    for bad in ("2025-13", "March", "2025/03"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            Month.parse(bad)


# --- computing -----------------------------------------------------------------------


def test_the_digest_follows_the_partnership_order_and_carries_six_months(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    # Marketing is listed first although its team id is the larger one.
    assert world.teams["Marketing"] > world.teams["IT"]
    add(
        session_factory, busy_month(world, Month(2025, 2), 10, 10) + busy_month(world, MARCH, 6, 18)
    )
    digest = digest_for(session_factory, world)
    (pair,) = digest.pairs
    s = pair.summary
    assert (s.team_a.team.name, s.team_b.team.name) == ("Marketing", "IT")
    assert (s.flows_a_to_b, s.flows_b_to_a) == (6, 18)
    assert s.line(Metric.GIVE_SHARE).value == pytest.approx(0.25)  # type: ignore[union-attr]
    assert s.headline is Band.RED
    assert [h.month.key for h in pair.history] == [
        "2024-10",
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
        "2025-03",
    ]
    assert [(h.a_to_b, h.b_to_a) for h in pair.active_history] == [(10, 10), (6, 18)]
    # Marketing takes more than it gives, so Marketing hosts.
    host = next(step for step in s.next_steps if step.action is Action.HOST_SHADOWING)
    assert (host.team.name, host.other.name) == ("Marketing", "IT")
    assert digest.timezone == TZ and digest.settings_problem is None


def test_a_partnership_of_three_teams_gets_one_summary_per_pair(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory, sizes=(("Marketing", 6), ("IT", 5), ("Sales", 5)))
    rows = flows(world, "Marketing", "UMAR1", "Sales", "USAL1", in_month(MARCH), 3)
    rows += flows(world, "IT", "UIT1", "Marketing", "UMAR2", in_month(MARCH), 2)
    add(session_factory, rows)
    digest = digest_for(session_factory, world)
    titles = [p.title for p in digest.pairs]
    assert titles == ["Marketing ↔ IT", "Marketing ↔ Sales", "IT ↔ Sales"]
    by_title = {p.title: p.summary for p in digest.pairs}
    assert (
        by_title["Marketing ↔ Sales"].flows_a_to_b,
        by_title["Marketing ↔ IT"].flows_b_to_a,
    ) == (3, 2)
    assert by_title["IT ↔ Sales"].not_enough_activity


def test_no_activity_reads_not_enough_activity_with_a_first_step(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    digest = digest_for(session_factory, world)
    (pair,) = digest.pairs
    assert pair.summary.not_enough_activity and pair.summary.headline is None
    assert [step.action for step in pair.summary.next_steps] == [Action.START]
    assert not digest.has_history and render(digest).chart is None
    text = render_table(digest)
    assert NOT_ENOUGH_ACTIVITY in text and "Schedule the first shadowing round" in text


def test_one_direction_only_is_red_with_the_taker_hosting(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    add(session_factory, busy_month(world, MARCH, 0, 12))
    (pair,) = digest_for(session_factory, world).pairs
    assert pair.summary.line(Metric.GIVE_SHARE).band is Band.RED  # type: ignore[union-attr]
    assert pair.summary.line(Metric.RECIPROCITY).value == 0.0  # type: ignore[union-attr]


def test_band_overrides_come_from_the_partnership_settings(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(
        session_factory, settings={"balance": {"give_share": {"green": 0.9, "amber": 0.95}}}
    )
    add(session_factory, busy_month(world, MARCH, 6, 18))
    (pair,) = digest_for(session_factory, world).pairs
    assert pair.summary.line(Metric.GIVE_SHARE).band is Band.GREEN  # type: ignore[union-attr]


def test_refused_overrides_fall_back_to_the_defaults_and_say_so(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory, settings={"balance": {"reach": {"green": 2}}})
    add(session_factory, busy_month(world, MARCH, 6, 18))
    digest = digest_for(session_factory, world)
    assert digest.settings_problem is not None and "reach" in digest.settings_problem
    assert digest.pairs[0].summary.line(Metric.GIVE_SHARE).band is Band.RED  # type: ignore[union-attr]
    assert "defaults used" in render(digest).message["blocks"][-1]["elements"][0]["text"]


# --- what leaders see ------------------------------------------------------------------


def _message_text(message: dict[str, object]) -> str:
    return json.dumps(message, ensure_ascii=False)


def test_the_message_names_no_one_and_hides_a_small_team(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory, sizes=(("Marketing", 6), ("IT", 3)))
    add(session_factory, busy_month(world, MARCH, 8, 9))
    digest = digest_for(session_factory, world)
    rendered = render(digest)
    text = _message_text(rendered.message)
    assert "hidden: IT had fewer than 5 members" in text
    assert "Reach (" not in text and "Give share" not in text  # the whole pair is withheld
    assert rendered.chart is None  # nothing to draw
    for slack_id in world.people:
        assert slack_id not in text
    assert "person" not in text  # display names are "Marketing person 1", …


def test_the_message_fits_slacks_limits_and_offers_one_button(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    add(session_factory, busy_month(world, MARCH, 8, 9))
    rendered = render(digest_for(session_factory, world))
    text = _message_text(rendered.message)
    assert "Reach (IT)" in text and "Reach (Marketing)" in text
    blocks = rendered.message["blocks"]
    assert isinstance(blocks, list) and len(blocks) <= 50
    fields = [b for b in blocks if b.get("fields")]
    assert fields and all(len(b["fields"]) <= 10 for b in fields)
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [EXPLAIN_ACTION_ID]
    assert rendered.chart is not None and rendered.chart.startswith(b"\x89PNG\r\n\x1a\n")


def test_team_names_cannot_become_mentions(session_factory: sessionmaker[Session]) -> None:
    world = seed_world(session_factory)
    with transaction(session_factory) as s:
        partnership = s.get(Partnership, world.partnership_id)
        assert partnership is not None
        partnership.name = "<!channel> & co"
    text = _message_text(render(digest_for(session_factory, world)).message)
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; co" in text


def test_the_explanation_modal_defines_every_number() -> None:
    view = explain_modal()
    assert view["type"] == "modal" and view["callback_id"] == EXPLAIN_CALLBACK_ID
    text = json.dumps(view, ensure_ascii=False)
    # Every metric the digest shows, by the name it shows, is explained in Slack itself.
    for name in METRIC_NAMES.values():
        assert f"*{name}" in text, name
    assert ".md" not in text and "docs/" not in text and "github" not in text.lower()
    assert "counts as given by whoever was thanked" in text
    openness = next(body for title, body in DEFINITIONS if title == "Boundary openness")
    assert openness.count(". ") == 0 and openness.endswith(".")  # one sentence


def test_a_digest_for_a_month_not_over_says_it_is_incomplete(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    add(session_factory, busy_month(world, MARCH, 6, 18))
    during = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
    current = as_of(digest_for(session_factory, world), during)
    note = "March 2025 is not over: these are the numbers up to 20 March 13:00, so they are incomplete."
    assert current.incomplete_note == note
    assert note in render_table(current) and note in _message_text(render(current).message)
    future = as_of(digest_for(session_factory, world, Month(2025, 5)), during)
    assert "May 2025 has not started yet" in render_table(future)
    # A month that is over, in the partnership's zone, says nothing of the kind.
    over = as_of(digest_for(session_factory, world), datetime(2025, 3, 31, 23, 0, tzinfo=UTC))
    assert over.incomplete_note is None and "incomplete" not in render_table(over)


def test_the_digest_says_who_gave_what_in_words_with_the_kudos_convention(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    add(session_factory, busy_month(world, MARCH, 6, 18))
    digest = digest_for(session_factory, world)
    table = render_table(digest)
    message = _message_text(render(digest).message)
    for text in (table, message):
        assert "Marketing gave IT 6 · IT gave Marketing 18" in text
        assert text.count("counts as given by whoever was thanked") == 1


# --- delivery --------------------------------------------------------------------------


def _ritual(sessions: sessionmaker[Session], world: World, timezone: str = TZ, **settings: object):  # type: ignore[no-untyped-def]
    defaults = digest_ritual_defaults(timezone)
    with transaction(sessions) as s:
        return ritual_store.create(
            s,
            partnership_id=world.partnership_id,
            kind=RitualKind.DIGEST,
            cron=defaults["cron"],
            timezone=defaults["timezone"],
            settings={**defaults["settings"], **settings},
            now=CREATED,
        )


def _occurrence(
    ritual_id: int, fire_at: datetime, subject: str = "", key: str | None = None
) -> WonOccurrence:
    return WonOccurrence(
        id=1,
        ritual_id=ritual_id,
        subject=subject,
        fire_key=key or fire_at.strftime("%Y-%m-%dT%H:%M"),
        fire_at=fire_at,
        tz=TZ,
        tz_fallback=False,
    )


def _rows(sessions: sessionmaker[Session]) -> list[Outbox]:
    with sessions() as s:
        return list(s.scalars(select(Outbox).order_by(Outbox.id)))


# Tuesday 1 April 2025, 09:00 in Berlin: the first working day of April.
APRIL_FIRST_0900_BERLIN = datetime(2025, 4, 1, 7, 0, tzinfo=UTC)


def test_the_digest_ritual_defaults_to_the_first_working_day_at_nine() -> None:
    defaults = digest_ritual_defaults(TZ)
    assert defaults["cron"] == "0 9 1-3 * 1-5"
    assert defaults["settings"] == {"first_working_day_only": True}
    assert default_registry().get(RitualKind.DIGEST.value) is build_occurrences


def test_the_builder_queues_a_dm_and_chart_per_leader_at_their_own_nine(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    add(session_factory, busy_month(world, MARCH, 6, 18))
    ritual = _ritual(session_factory, world, leaders_channel="CLEADERS")
    occurrence = _occurrence(ritual.id, APRIL_FIRST_0900_BERLIN)
    for _ in range(2):  # a second build (a retried tick) adds nothing
        with transaction(session_factory) as s:
            build_occurrences(s, ritual, [occurrence], APRIL_FIRST_0900_BERLIN)
    rows = _rows(session_factory)
    posts = {r.payload["channel"]: r for r in rows if r.method == "chat.postMessage"}
    charts = [r for r in rows if r.method == FILES_UPLOAD_V2]
    assert set(posts) == {"UMAR1", "UIT1", "CLEADERS"}
    assert len(charts) == 3 and len(rows) == 6
    for chart in charts:
        parent = next(r for r in rows if r.idempotency_key == chart.parent_key)
        assert parent.method == "chat.postMessage"
        assert chart.payload["channel"] == {PARENT_REF: "channel"}
        assert chart.payload["filename"] == f"tandem-balance-{world.partnership_id}-2025-03.png"
        assert chart.payload["content_base64"]
    # UMAR1 lives in Los Angeles: 09:00 there on 1 April; UIT1 is in Berlin: now.
    assert posts["UMAR1"].next_attempt_at == datetime(2025, 4, 1, 16, 0, tzinfo=UTC)
    assert posts["UIT1"].next_attempt_at == APRIL_FIRST_0900_BERLIN
    assert posts["CLEADERS"].next_attempt_at == APRIL_FIRST_0900_BERLIN
    assert "March 2025" in posts["UIT1"].payload["text"]
    # The six months shown are over: stored with the tick's transaction, read from then on.
    with session_factory() as s:
        assert stored_months(s, world.partnership_id)[-1] == "2025-03"


def test_a_per_leader_occurrence_goes_to_that_leader_only(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    ritual = _ritual(session_factory, world, timezone="member-local")
    fire_at = datetime(2025, 4, 1, 16, 0, tzinfo=UTC)
    occurrences = [
        _occurrence(ritual.id, fire_at, member_subject(world.member("UMAR1"))),
        _occurrence(ritual.id, fire_at, member_subject(world.member("UMAR2"))),  # not a leader
        _occurrence(ritual.id, fire_at, f"{LEADER_PREFIX}UIT1"),
    ]
    with transaction(session_factory) as s:
        build_occurrences(s, ritual, occurrences, fire_at)
    posts = [r for r in _rows(session_factory) if r.method == "chat.postMessage"]
    assert sorted(r.payload["channel"] for r in posts) == ["UIT1", "UMAR1"]
    # Nothing happened in March: the digest says so rather than staying silent.
    assert NOT_ENOUGH_ACTIVITY in posts[0].payload["text"]


def test_a_manual_run_sends_again_for_the_last_complete_month(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    add(session_factory, busy_month(world, MARCH, 6, 18))
    ritual = _ritual(session_factory, world)
    now = datetime(2025, 4, 15, 12, 0, tzinfo=UTC)
    with transaction(session_factory) as s:
        build_occurrences(s, ritual, [_occurrence(ritual.id, APRIL_FIRST_0900_BERLIN)], now)
        build_occurrences(s, ritual, [_occurrence(ritual.id, now, key="manual:abc")], now)
    rows = _rows(session_factory)
    posts = [r for r in rows if r.method == "chat.postMessage"]
    assert len(posts) == 4  # two leaders, twice
    assert all(
        r.idempotency_key.startswith(f"digest:{world.partnership_id}:2025-03:") for r in posts
    )
    # The resent chart has a name of its own, so it is never mistaken for the first one.
    names = {r.payload["filename"] for r in rows if r.method == FILES_UPLOAD_V2}
    assert names == {
        f"tandem-balance-{world.partnership_id}-2025-03.png",
        f"tandem-balance-{world.partnership_id}-2025-03-manual-abc.png",
    }


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def cli_env(
    session_factory: sessionmaker[Session],
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("TANDEM_DATABASE_URL", db_url)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    world = seed_world(session_factory)
    add(
        session_factory, busy_month(world, Month(2025, 2), 10, 10) + busy_month(world, MARCH, 6, 18)
    )
    return world


@pytest.mark.usefixtures("cli_env")
def test_cli_prints_the_table_without_a_slack_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["digest", "--partnership", "marketing + it", "--month", "2025-03"]) == 0
    out = capsys.readouterr().out
    assert "Interdependence balance: Marketing + IT, March 2025" in out
    assert "Give share" in out and "Marketing 25% · IT 75%" in out and "Next steps:" in out


@pytest.mark.usefixtures("cli_env")
def test_cli_says_a_month_not_over_is_incomplete(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("bot.clock.utcnow", lambda: datetime(2025, 3, 20, 12, 0, tzinfo=UTC))
    assert main(["digest", "--partnership", "marketing + it", "--month", "2025-03"]) == 0
    out = capsys.readouterr().out
    assert "Note: March 2025 is not over" in out and "so they are incomplete" in out


@pytest.mark.usefixtures("cli_env")
def test_cli_prints_json_and_writes_the_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "chart.png"
    code = main(
        [
            "digest",
            "--partnership",
            "Marketing + IT",
            "--month",
            "2025-03",
            "--json",
            "--chart",
            str(chart),
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["month"] == "2025-03" and data["pairs"][0]["teams"] == ["Marketing", "IT"]
    assert data["pairs"][0]["metrics"]["give_share"]["band"] == "red"
    assert data["pairs"][0]["flows"] == {"Marketing -> IT": 6, "IT -> Marketing": 18}
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert "chart written" in captured.err


@pytest.mark.usefixtures("cli_env")
def test_cli_post_needs_the_token_and_a_known_partnership(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["digest", "--partnership", "Marketing + IT", "--post"]) == 2
    assert "SLACK_BOT_TOKEN" in capsys.readouterr().err
    assert main(["digest", "--partnership", "Nope"]) == 1
    assert "Known: Marketing + IT" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["digest", "--partnership", "Marketing + IT", "--month", "March"])


def test_cli_keeps_a_closed_month_as_first_computed_until_asked_to_recompute(
    cli_env: World, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """March is stored when first shown; flows logged into it later count after --recompute."""
    args = ["digest", "--partnership", "Marketing + IT", "--month", "2025-03", "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    with session_factory() as s:
        stored = stored_months(s, cli_env.partnership_id)
    assert stored == [MARCH.shifted(offset).key for offset in range(-5, 1)]
    add(session_factory, flows(cli_env, "Marketing", "UMAR1", "IT", "UIT1", in_month(MARCH), 4))
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert main([*args, "--recompute"]) == 0
    captured = capsys.readouterr()
    recomputed = json.loads(captured.out)
    assert recomputed["pairs"][0]["flows"] == {"Marketing -> IT": 10, "IT -> Marketing": 18}
    assert "recomputed from the log; 6 stored month(s) dropped" in captured.err
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == recomputed


def test_find_partnership_refuses_an_unknown_name(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s, pytest.raises(PartnershipNotFound, match="no partnerships yet"):
        find_partnership(s, "Marketing + IT")


# --- the optional kudos leaderboard --------------------------------------------------------


def _thank(
    sessions: sessionmaker[Session], world: World, giver: str, to: Sequence[str], at: datetime
) -> None:
    team_of = {slack_id: ("Marketing" if "MAR" in slack_id else "IT") for slack_id in world.people}
    with transaction(sessions) as s:
        kudos_store.add_kudos(
            s,
            kudos_store.NewKudos(
                workspace_id=world.workspace_id,
                partnership_id=world.partnership_id,
                giver_member_id=world.member(giver),
                giver_team_id=world.teams[team_of[giver]],
                reason="the launch",
                values=(),
                receivers=[
                    kudos_store.Receiver(world.member(u), world.teams[team_of[u]]) for u in to
                ],
                created_at=at,
            ),
        )


def _boards(sessions: sessionmaker[Session]) -> list[Outbox]:
    return [r for r in _rows(sessions) if r.idempotency_key.startswith("kudos-leaderboard:")]


@pytest.mark.parametrize("enabled", [True, False])
def test_the_digest_run_posts_the_kudos_leaderboard_only_when_turned_on(
    session_factory: sessionmaker[Session], enabled: bool
) -> None:
    world = seed_world(session_factory, settings={"kudos_leaderboard": enabled})
    _thank(session_factory, world, "UMAR1", ["UIT2", "UIT3"], in_month(MARCH))
    _thank(session_factory, world, "UMAR2", ["UIT3"], in_month(MARCH, 20))
    _thank(session_factory, world, "UIT1", ["UMAR2"], in_month(MARCH, 21))
    _thank(session_factory, world, "UMAR3", ["UMAR4"], in_month(MARCH, 22))  # same team
    # 1 April 00:30 in Berlin is already April there; February is not last month either.
    _thank(session_factory, world, "UIT1", ["UMAR5"], datetime(2025, 3, 31, 22, 30, tzinfo=UTC))
    _thank(session_factory, world, "UIT1", ["UMAR6"], in_month(Month(2025, 2)))
    ritual = _ritual(session_factory, world)
    occurrence = _occurrence(ritual.id, APRIL_FIRST_0900_BERLIN)
    for now in (APRIL_FIRST_0900_BERLIN, datetime(2025, 4, 15, 12, 0, tzinfo=UTC)):
        with transaction(session_factory) as s:  # a retried tick, then a manual run
            build_occurrences(s, ritual, [occurrence], now)
            build_occurrences(s, ritual, [_occurrence(ritual.id, now, key="manual:x")], now)
    boards = _boards(session_factory)
    if not enabled:
        assert boards == []
        return
    [board] = boards
    assert board.idempotency_key == f"kudos-leaderboard:{world.partnership_id}:2025-03"
    assert board.method == "chat.postMessage" and board.payload["channel"] == "CJOINT"
    text = json.dumps(board.payload["blocks"])
    order = ["UIT3", "UIT2", "UMAR2", "UMAR4"]  # 2 kudos, then ties by name
    assert [text.index(f"<@{u}>") for u in order] == sorted(text.index(f"<@{u}>") for u in order)
    assert "UMAR5" not in text and "UMAR6" not in text
    assert "3 of 4 kudos went across teams" in text
    assert "March 2025" in board.payload["text"]


def test_no_kudos_no_leaderboard(session_factory: sessionmaker[Session]) -> None:
    world = seed_world(session_factory, settings={"kudos_leaderboard": True})
    ritual = _ritual(session_factory, world)
    with transaction(session_factory) as s:
        build_occurrences(
            s, ritual, [_occurrence(ritual.id, APRIL_FIRST_0900_BERLIN)], APRIL_FIRST_0900_BERLIN
        )
    assert _boards(session_factory) == []
