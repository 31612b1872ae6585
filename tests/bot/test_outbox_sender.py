"""The sender against the fake Slack, one batch at a time with `now` passed in (no threads)."""

from __future__ import annotations

import base64
import logging
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.client import RemoteDisconnected
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web import SlackResponse
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.admin import AdminCheck, AdminCommands, status_counts
from bot.clock import utcnow
from bot.commands import CommandRequest
from bot.outbox import (
    FILES_UPLOAD_V2,
    OutboxSender,
    Pacer,
    RetryPolicy,
    file_upload,
    sender_client,
)
from bot.outbox.calls import with_idempotency_key
from bot.outbox.failures import Failed, RateLimited, from_api_error, from_exception
from bot.outbox.pacing import CHANNEL_GRACE_SECONDS, HEADROOM, SLOWDOWN_ON_429, Slot
from bot.services import Services
from bot.settings import Settings, load_settings
from storage import outbox
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Outbox
from storage.outbox import OutboundCall
from tests.fakes import FakeSlack

SECRET_TEXT = "the quarterly numbers are bad"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_user("U1", "ana")
        server.add_channel("C1", "marketing-it", ["U1"])
        server.add_channel("C2", "it-help", ["U1"])
        server.add_channel("C9", "elsewhere", ["U1"], is_member=False)
        yield server


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


class Ticks:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _settings(fake: FakeSlack) -> Settings:
    return load_settings(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake.url,
        TANDEM_WORKSPACE_RATE_PER_SECOND=1000,
    )


def _sender(
    sessions: sessionmaker[Session],
    fake: FakeSlack,
    *,
    pacer: Pacer | None = None,
    policy: RetryPolicy | None = None,
    lease_for: timedelta = timedelta(minutes=2),
    sleeps: list[float] | None = None,
) -> OutboxSender:
    settings = _settings(fake)
    return OutboxSender(
        sessions,
        sender_client(settings),
        settings,
        "w1",
        pacer=pacer or Pacer(1e6, channel_interval=0.0),
        policy=policy,
        lease_for=lease_for,
        rng=random.Random(7),
        sleep=(sleeps if sleeps is not None else []).append,
    )


def _post(key: str, channel: str = "C1", text: str = "hello", **payload: Any) -> OutboundCall:
    return OutboundCall(key, "chat.postMessage", {"channel": channel, "text": text, **payload})


def _add(sessions: sessionmaker[Session], now: datetime, *calls: OutboundCall) -> None:
    with transaction(sessions) as session:
        outbox.enqueue(session, list(calls), now)


def _row(sessions: sessionmaker[Session], key: str) -> Outbox:
    with sessions() as session:
        row = session.scalar(select(Outbox).where(Outbox.idempotency_key == key))
        assert row is not None
        return row


def _methods(fake: FakeSlack) -> list[str]:
    return [c.method for c in fake.calls]


# --- sending -------------------------------------------------------------------


def test_the_sender_client_never_retries_on_its_own(fake: FakeSlack) -> None:
    assert WebClient().retry_handlers  # slack-sdk's default would re-send dropped POSTs
    assert sender_client(_settings(fake)).retry_handlers == []


def test_a_post_carries_its_key_as_metadata_and_records_the_ts(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("kudos:1"))

    assert _sender(sessions, fake).run_once(now) == 1

    (call,) = fake.calls_to("chat.postMessage")
    assert call.json_param("metadata") == {
        "event_type": "tandem_outbox",
        "event_payload": {"idempotency_key": "kudos:1"},
    }
    row = _row(sessions, "kudos:1")
    assert row.status == "sent" and row.lease_until is None
    assert row.result == {"channel": "C1", "ts": call.reply["ts"]}  # type: ignore[index]


def test_caller_metadata_keeps_its_event_and_gains_the_key() -> None:
    mine = {"event_type": "kudos_given", "event_payload": {"kudos_id": 4}}
    assert with_idempotency_key(mine, "k") == {
        "event_type": "kudos_given",
        "event_payload": {"kudos_id": 4, "idempotency_key": "k"},
    }


def test_a_429_is_rescheduled_after_retry_after_without_spending_an_attempt(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("a"))
    fake.fail_next("chat.postMessage", status=429, retry_after=7)
    ticks = Ticks()
    sleeps: list[float] = []
    pacer = Pacer(1e6, channel_interval=0.0, monotonic=ticks)
    sender = _sender(sessions, fake, pacer=pacer, sleeps=sleeps)

    sender.run_once(now)
    # Rescheduled, not slept on: no wait in the sender, one call (no retry inside the client).
    assert sleeps == []
    assert len(fake.calls_to("chat.postMessage")) == 1

    row = _row(sessions, "a")
    assert (row.status, row.attempts) == ("pending", 0)
    assert now + timedelta(seconds=7) <= row.next_attempt_at < now + timedelta(seconds=9)
    assert row.last_error == "rate limited by Slack; retrying after 7s"
    assert sender.run_once(now + timedelta(seconds=6)) == 0
    ticks.now += 9  # the pacer also kept the channel quiet for those 7 seconds
    sender.run_once(now + timedelta(seconds=9))
    assert _row(sessions, "a").status == "sent"
    assert len(fake.calls_to("chat.postMessage")) == 2


def test_a_5xx_backs_off_with_jitter_and_checks_before_posting_again(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("a"))
    fake.fail_next("chat.postMessage", status=503)
    sender = _sender(sessions, fake, policy=RetryPolicy(base_seconds=2.0))

    sender.run_once(now)
    row = _row(sessions, "a")
    assert (row.status, row.attempts, row.last_error) == (
        "pending",
        1,
        "HTTP 503 from Slack (service_unavailable)",
    )
    assert now <= row.next_attempt_at <= now + timedelta(seconds=3)

    fake.reset()
    sender.run_once(row.next_attempt_at + timedelta(seconds=1))
    assert _methods(fake) == ["conversations.history", "chat.postMessage"]
    assert _row(sessions, "a").status == "sent"


def test_a_row_dies_after_the_last_attempt_with_the_reason(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("a"))
    fake.fail_next("chat.postMessage", count=3, status=500)
    sender = _sender(sessions, fake, policy=RetryPolicy(max_attempts=3, base_seconds=0.1))

    for _ in range(3):
        sender.run_once(now)
        now = _row(sessions, "a").next_attempt_at + timedelta(seconds=1)

    row = _row(sessions, "a")
    assert (row.status, row.attempts) == ("dead", 3)
    assert row.last_error == (
        "gave up after 3 attempts: HTTP 500 from Slack (internal_error) "
        "(the last attempt may have reached Slack)"
    )
    assert fake.duplicates() == 0


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("channel_not_found", "Slack refused chat.postMessage: channel_not_found"),
        ("msg_too_long", "Slack refused chat.postMessage: msg_too_long"),
        ("is_archived", "Slack refused chat.postMessage: is_archived"),
    ],
)
def test_an_error_that_cannot_succeed_kills_the_row_at_once(
    sessions: sessionmaker[Session], fake: FakeSlack, error: str, expected: str
) -> None:
    now = utcnow()
    _add(sessions, now, _post("a"))
    fake.error_next("chat.postMessage", error)
    _sender(sessions, fake).run_once(now)

    row = _row(sessions, "a")
    assert (row.status, row.attempts) == ("dead", 1)
    assert row.last_error == f"{expected} (retrying will not help)"


def test_not_in_channel_from_the_real_fake_is_permanent(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("a", channel="C9"))
    _sender(sessions, fake).run_once(now)
    assert _row(sessions, "a").last_error == (
        "Slack refused chat.postMessage: not_in_channel (retrying will not help)"
    )


def test_an_unknown_method_is_dead_at_once(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, OutboundCall("x", "chat.shout", {"channel": "C1"}))
    _sender(sessions, fake).run_once(now)
    row = _row(sessions, "x")
    assert row.status == "dead"
    assert row.last_error == "chat.shout is not a Slack Web API method slack_sdk knows"
    assert fake.calls == []


def test_other_ok_false_errors_are_retried(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("a"))
    fake.error_next("chat.postMessage", "team_added_to_org")
    _sender(sessions, fake).run_once(now)
    row = _row(sessions, "a")
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "Slack answered chat.postMessage with team_added_to_org"


# --- ambiguous failures -----------------------------------------------------------


def test_a_post_applied_before_the_connection_dropped_is_found_not_reposted(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("a"))
    fake.drop_next("chat.postMessage", after_processing=True)
    sender = _sender(sessions, fake)

    sender.run_once(now)
    row = _row(sessions, "a")
    assert (row.status, row.attempts, row.result) == ("pending", 1, {"unconfirmed": True})
    assert row.last_error is not None and row.last_error.startswith("no answer from Slack")

    sender.run_once(row.next_attempt_at + timedelta(seconds=1))
    (message,) = fake.messages("C1")
    assert _row(sessions, "a").result == {"channel": "C1", "ts": message["ts"], "recovered": True}
    (lookup,) = fake.calls_to("conversations.history")
    assert lookup.params["include_all_metadata"] in ("1", True)
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert fake.duplicates() == 0


def test_a_post_dropped_before_processing_is_checked_then_posted_once(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("a"))
    fake.drop_next("chat.postMessage")
    sender = _sender(sessions, fake)
    sender.run_once(now)
    sender.run_once(_row(sessions, "a").next_attempt_at + timedelta(seconds=1))

    assert _methods(fake) == ["chat.postMessage", "conversations.history", "chat.postMessage"]
    assert len(fake.messages("C1")) == 1
    assert _row(sessions, "a").status == "sent"


def test_a_dm_by_user_id_is_looked_up_in_the_dm_conversation(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("dm", channel="U1"))
    fake.drop_next("chat.postMessage", after_processing=True)
    sender = _sender(sessions, fake)
    sender.run_once(now)
    sender.run_once(_row(sessions, "dm").next_attempt_at + timedelta(seconds=1))

    assert _methods(fake) == ["chat.postMessage", "conversations.open", "conversations.history"]
    result = _row(sessions, "dm").result
    assert result is not None and result["channel"].startswith("D") and result["recovered"]


def test_a_lookup_that_fails_keeps_the_row_unconfirmed(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("a"))
    fake.drop_next("chat.postMessage", after_processing=True)
    sender = _sender(sessions, fake)
    sender.run_once(now)
    fake.fail_next("conversations.history", status=429, retry_after=3)
    sender.run_once(_row(sessions, "a").next_attempt_at + timedelta(seconds=1))

    row = _row(sessions, "a")
    assert (row.status, row.result) == ("pending", {"unconfirmed": True})
    sender.run_once(row.next_attempt_at + timedelta(seconds=1))
    assert _row(sessions, "a").status == "sent"
    assert fake.duplicates() == 0 and len(fake.messages("C1")) == 1


def test_a_lookup_slack_refuses_says_which_step_failed(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("a"))
    fake.drop_next("chat.postMessage", after_processing=True)
    sender = _sender(sessions, fake)
    sender.run_once(now)
    fake.error_next("conversations.history", "missing_scope")
    sender.run_once(_row(sessions, "a").next_attempt_at + timedelta(seconds=1))

    row = _row(sessions, "a")
    assert row.status == "dead"
    assert row.last_error == (
        "looking for the earlier attempt: Slack refused conversations.history: missing_scope "
        "(retrying will not help) (the last attempt may have reached Slack)"
    )
    assert row.result == {"unconfirmed": True}  # a retry will look again before posting


# --- files -----------------------------------------------------------------------


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_a_file_row_uploads_its_bytes_with_upload_v2(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    payload = file_upload("C1", PNG, "balance-2026-03.png", title="Balance, March 2026")
    assert base64.b64decode(payload["content_base64"]) == PNG
    _add(sessions, now, OutboundCall("chart:3", FILES_UPLOAD_V2, payload))

    _sender(sessions, fake).run_once(now)

    row = _row(sessions, "chart:3")
    assert row.status == "sent", row.last_error
    assert row.result is not None
    (uploaded,) = row.result["files"]
    assert fake.file_bytes(uploaded["id"]) == PNG
    (message,) = fake.messages("C1")
    assert message["files"][0]["title"] == "Balance, March 2026"


def test_a_file_shared_before_the_connection_dropped_is_not_shared_again(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    payload = file_upload("C1", PNG, "balance-2026-03.png", title="Balance, March 2026")
    _add(sessions, now, OutboundCall("chart:3", FILES_UPLOAD_V2, payload))
    fake.drop_next("files.completeUploadExternal", after_processing=True)
    sender = _sender(sessions, fake)
    sender.run_once(now)
    sender.run_once(_row(sessions, "chart:3").next_attempt_at + timedelta(seconds=1))

    assert len(fake.messages("C1")) == 1
    assert len(fake.calls_to("files.completeUploadExternal")) == 1
    result = _row(sessions, "chart:3").result
    assert result is not None and result["recovered"] and result["files"][0]["id"]


def test_a_file_row_without_bytes_is_dead(sessions: sessionmaker[Session], fake: FakeSlack) -> None:
    now = utcnow()
    _add(sessions, now, OutboundCall("chart", FILES_UPLOAD_V2, {"channel": "C1", "filename": "a"}))
    _sender(sessions, fake).run_once(now)
    assert _row(sessions, "chart").last_error == (
        "a files.upload_v2 row needs its bytes in 'content_base64'"
    )


# --- pacing and leases --------------------------------------------------------------


def test_the_pacer_spaces_channels_and_the_workspace() -> None:
    ticks = Ticks()
    pacer = Pacer(10, channel_interval=1.0, headroom=1.0, monotonic=ticks)

    assert pacer.reserve(None, "C1") == Slot(0.0, reserved=True)
    assert pacer.reserve(None, "C2") == Slot(pytest.approx(0.1), reserved=True)  # type: ignore[arg-type]
    assert pacer.reserve(None, "C1") == Slot(pytest.approx(1.0), reserved=False)  # type: ignore[arg-type]
    ticks.now += 1.0
    assert pacer.reserve(None, "C1").reserved
    pacer.rate_limited(None, "C2", 5.0)
    assert pacer.reserve(None, "C2") == Slot(pytest.approx(5.0), reserved=False)  # type: ignore[arg-type]
    assert pacer.reserve("other workspace", "C2").reserved
    assert pacer.reserve(None, "").reserved  # calls that post nowhere only count for the workspace


def test_429s_slow_the_workspace_and_successes_win_the_pace_back() -> None:
    pacer = Pacer(50, monotonic=Ticks())
    base = pacer.spacing(1)
    for _ in range(3):
        pacer.rate_limited(1, "", 1.0)
    assert pacer.spacing(1) == pytest.approx(base * SLOWDOWN_ON_429**3)
    assert pacer.spacing(2) == base  # another workspace is not affected
    for _ in range(1000):
        pacer.succeeded(1)
    assert pacer.spacing(1) == base


def test_the_pacer_keeps_a_little_under_the_configured_rate() -> None:
    ticks = Ticks()
    pacer = Pacer(50, channel_interval=1.0, monotonic=ticks)
    pacer.reserve(1, "C1")
    assert pacer.reserve(1, "C2").wait == pytest.approx(1 / (50 * HEADROOM))
    assert 0.9 <= HEADROOM < 1.0


def test_a_row_for_a_busy_channel_is_given_back_not_slept_on(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("first"), _post("second"), _post("other", channel="C2"))
    pacer = Pacer(1e6, monotonic=Ticks())  # time stands still: C1 stays busy
    sleeps: list[float] = []

    assert _sender(sessions, fake, pacer=pacer, sleeps=sleeps).run_once(now) == 3

    assert all(wait <= CHANNEL_GRACE_SECONDS for wait in sleeps)  # given back, not waited for
    assert [c.params["channel"] for c in fake.calls_to("chat.postMessage")] == ["C1", "C2"]
    second = _row(sessions, "second")
    assert (second.status, second.attempts, second.lease_until) == ("pending", 0, None)
    gap = (second.next_attempt_at - now).total_seconds()
    assert 1 / HEADROOM <= gap < 1 / HEADROOM + 0.5


def test_no_call_starts_that_could_outlive_its_lease(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("a"))
    _sender(sessions, fake, lease_for=timedelta(seconds=5)).run_once(now)
    assert fake.calls == []
    row = _row(sessions, "a")
    assert (row.status, row.leased_by, row.attempts) == ("pending", None, 0)


def test_a_sender_that_lost_its_lease_does_not_overwrite_the_new_holder(
    sessions: sessionmaker[Session], fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    now = utcnow()
    _add(sessions, now, _post("a"))
    with transaction(sessions) as session:
        (row,) = outbox.claim(session, "w1", now, 1, timedelta(seconds=1))
        outbox.claim(session, "w2", now + timedelta(seconds=2), 1, timedelta(minutes=2))
    sender = _sender(sessions, fake)
    with caplog.at_level(logging.WARNING):
        sender._record(row, sender._calls.attempt(row), now)
    assert "lost the lease on a" in caplog.text
    assert _row(sessions, "a").leased_by == "w2"


# --- failure classification ------------------------------------------------------


def _api_error(status: int, body: dict[str, Any], headers: dict[str, Any]) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data=body,
        headers=headers,
        status_code=status,
    )
    return SlackApiError("failed", response)


def test_retry_after_is_read_from_the_header() -> None:
    limited = from_api_error(
        "chat.postMessage",
        _api_error(429, {"ok": False, "error": "ratelimited"}, {"retry-after": "30"}),
    )
    assert limited == RateLimited(30.0, "rate limited by Slack; retrying after 30s")
    garbled = from_api_error("x", _api_error(429, {"ok": False}, {"Retry-After": "soon"}))
    assert isinstance(garbled, RateLimited) and garbled.retry_after == 1.0


def test_connection_errors_may_have_applied_but_client_errors_did_not() -> None:
    dropped = from_exception(RemoteDisconnected("Remote end closed connection without response"))
    assert dropped.may_have_applied and not dropped.permanent
    timed_out = from_exception(TimeoutError("timed out"))
    assert timed_out == Failed("no answer from Slack: TimeoutError: timed out", False, True)
    upload = from_exception(SlackRequestError("Failed to upload a file (status: 502)"))
    assert not upload.may_have_applied and not upload.permanent


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    policy = RetryPolicy(base_seconds=2.0, cap_seconds=60.0)
    rng = random.Random(1)
    for attempts, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (8, 60.0)]:
        delays = [policy.delay(attempts, rng) for _ in range(300)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9


# --- logging ------------------------------------------------------------------------


def test_logs_name_the_key_method_and_channel_never_the_text_or_token(
    sessions: sessionmaker[Session], fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    now = utcnow()
    _add(sessions, now, _post("standup:7:U1", text=SECRET_TEXT), _post("b", text=SECRET_TEXT))
    fake.drop_next("chat.postMessage", after_processing=True)
    with caplog.at_level(logging.DEBUG, logger="bot"):
        _sender(sessions, fake).run_once(now)

    assert "standup:7:U1 (chat.postMessage to C1)" in caplog.text
    assert SECRET_TEXT not in caplog.text
    assert "xoxb-test" not in caplog.text


# --- admin status -------------------------------------------------------------------


def test_admin_status_shows_counts_and_the_oldest_dead_errors(
    engine: Engine, sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    now = utcnow()
    _add(sessions, now, _post("ok"), _post("gone", channel="C9"), _post("later"))
    fake.fail_next("chat.postMessage", status=500)
    _sender(sessions, fake).run_once(now)
    _add(sessions, now, _post("new"))
    services = Services(settings=_settings(fake), engine=engine, sessions=sessions)

    assert status_counts(services) == {"pending": 1, "retrying": 1, "dead": 1}
    command = AdminCommands(services, AdminCheck(frozenset({"UADMIN"})))
    reply = command(
        CommandRequest(
            user_id="UADMIN",
            slack_team_id="T0001",
            channel_id="C1",
            text="status",
            trigger_id="",
            client=WebClient(),
            services=services,
        )
    )
    assert reply is not None
    assert reply["text"] == "Outbox: 1 pending · 1 retrying · 1 dead"
    shown = str(reply["blocks"])
    assert "<#C9>" in shown
    assert "Slack refused chat.postMessage: not_in_channel (retrying will not help)" in shown
    assert "tandem outbox retry ID" in shown
