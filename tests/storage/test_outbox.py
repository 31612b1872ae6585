from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from storage import org, outbox
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Outbox
from storage.outbox import OutboundCall, from_parent

T0 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def _post(key: str, channel: str = "C1", **kw: object) -> OutboundCall:
    return OutboundCall(key, "chat.postMessage", {"channel": channel, "text": key}, **kw)  # type: ignore[arg-type]


def _add(factory: sessionmaker[Session], *calls: OutboundCall, now: datetime = T0) -> None:
    with transaction(factory) as session:
        outbox.enqueue(session, list(calls), now)


def _claim(
    factory: sessionmaker[Session], worker: str, now: datetime = T0, limit: int = 100
) -> list[outbox.ClaimedRow]:
    with transaction(factory) as session:
        return outbox.claim(session, worker, now, limit, LEASE)


def _row(factory: sessionmaker[Session], key: str) -> Outbox:
    with factory() as session:
        found = session.scalar(select(Outbox).where(Outbox.idempotency_key == key))
        assert found is not None
        return found


# --- enqueue --------------------------------------------------------------------


def test_enqueue_is_idempotent_by_key(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        assert outbox.enqueue(session, [_post("a"), _post("b")], T0) == 2
        assert outbox.enqueue(session, _post("a"), T0) == 0
    row = _row(session_factory, "a")
    assert (row.status, row.attempts, row.channel_key, row.next_attempt_at) == (
        "pending",
        0,
        "C1",
        T0,
    )


def test_a_templated_channel_is_not_taken_as_the_channel_key(
    session_factory: sessionmaker[Session],
) -> None:
    child = OutboundCall(
        "dm", "chat.postMessage", {"channel": from_parent("channel.id")}, parent_key="open"
    )
    _add(session_factory, child)
    assert _row(session_factory, "dm").channel_key == ""


def test_a_parent_reference_needs_a_parent_key(session_factory: sessionmaker[Session]) -> None:
    orphan = OutboundCall("x", "chat.postMessage", {"channel": from_parent("channel.id")})
    with (
        pytest.raises(ValueError, match="needs a parent_key"),
        transaction(session_factory) as session,
    ):
        outbox.enqueue(session, orphan, T0)


def test_an_enqueue_larger_than_one_statement_adds_each_new_row_once_in_order(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    # SQLite pages multi-row VALUES by this size; PostgreSQL sends one statement.
    page = engine.dialect.insertmanyvalues_page_size
    count = 2 * page + 345
    calls = [_post(f"k{i:05d}", channel=f"C{i}") for i in range(count)]
    already = calls[::3]
    _add(session_factory, *already)
    with transaction(session_factory) as session:
        assert outbox.enqueue(session, calls, T0) == count - len(already)
        assert outbox.enqueue(session, calls, T0) == 0
    with session_factory() as session:
        stored = session.execute(
            select(Outbox.idempotency_key, Outbox.channel_key, Outbox.payload).order_by(Outbox.id)
        ).all()
    keys = [key for key, _, _ in stored]
    assert len(keys) == len(set(keys)) == count
    # The rows already there first, then the new ones in the order given.
    new = [c for i, c in enumerate(calls) if i % 3]
    assert keys == [c.idempotency_key for c in already + new]
    assert all(
        (channel, payload) == (f"C{int(key[1:])}", {"channel": channel, "text": key})
        for key, channel, payload in stored
    )


def test_enqueue_stores_every_field_as_given(session_factory: sessionmaker[Session]) -> None:
    berlin = timezone(timedelta(hours=1))
    payload = {"text": 'Café ☕ "quoted" \\ back', "channel": "D1", "blocks": [{"n": 1.5}]}
    calls = [
        OutboundCall("open", "conversations.open", {"users": "U1"}, channel_key="U1"),
        OutboundCall(
            "dm",
            "chat.postMessage",
            {"channel": from_parent("channel.id"), "text": "hi"},
            parent_key="open",
            not_before=datetime(2026, 3, 9, 10, 0, 0, 123456, tzinfo=berlin),
        ),
        OutboundCall("post", "chat.postMessage", payload),
    ]
    with transaction(session_factory) as session:
        workspace = org.ensure_workspace(session, "T1", T0)
        assert outbox.enqueue(session, calls, T0, workspace_id=workspace) == 3
    dm, post = _row(session_factory, "dm"), _row(session_factory, "post")
    assert (dm.parent_key, dm.channel_key, dm.workspace_id) == ("open", "", workspace)
    assert dm.payload == {"channel": {"$parent": "channel.id"}, "text": "hi"}
    assert dm.next_attempt_at == datetime(2026, 3, 9, 9, 0, 0, 123456, tzinfo=UTC)
    assert (dm.status, dm.attempts, dm.created_at, dm.lease_until) == ("pending", 0, T0, None)
    assert post.payload == payload
    assert list(post.payload) == ["text", "channel", "blocks"]  # key order kept
    assert (post.channel_key, post.parent_key, post.next_attempt_at) == ("D1", None, T0)


# --- claiming -------------------------------------------------------------------


def test_claim_takes_due_rows_in_order_and_leases_them(
    session_factory: sessionmaker[Session],
) -> None:
    _add(
        session_factory,
        _post("later", not_before=T0 + timedelta(seconds=30)),
        _post("first"),
        _post("second"),
    )

    claimed = _claim(session_factory, "w1", limit=1)
    assert [r.idempotency_key for r in claimed] == ["first"]
    assert claimed[0].lease_until == T0 + LEASE
    assert not claimed[0].unconfirmed
    assert _row(session_factory, "first").leased_by == "w1"

    assert [r.idempotency_key for r in _claim(session_factory, "w2")] == ["second"]
    assert _claim(session_factory, "w3") == []
    later = _claim(session_factory, "w3", now=T0 + timedelta(seconds=30))
    assert [r.idempotency_key for r in later] == ["later"]


def test_an_expired_lease_passes_the_row_on_marked_unconfirmed(
    session_factory: sessionmaker[Session],
) -> None:
    _add(session_factory, _post("a"))
    assert len(_claim(session_factory, "crashed")) == 1

    assert _claim(session_factory, "w2", now=T0 + LEASE) == []  # not yet: lease_until < now
    (taken,) = _claim(session_factory, "w2", now=T0 + LEASE + timedelta(seconds=1))
    assert taken.unconfirmed
    assert _row(session_factory, "a").leased_by == "w2"

    with transaction(session_factory) as session:
        assert not outbox.mark_sent(session, taken.id, "crashed", {"ts": "1"}, T0)
        assert outbox.mark_sent(session, taken.id, "w2", {"ts": "1"}, T0)
    assert _row(session_factory, "a").status == "sent"


def test_released_rows_come_back_unmarked_and_not_before_the_given_time(
    session_factory: sessionmaker[Session],
) -> None:
    _add(session_factory, _post("a"))
    (row,) = _claim(session_factory, "w1")
    with transaction(session_factory) as session:
        assert outbox.release(session, [row.id], "w1", at=T0 + timedelta(seconds=2)) == 1

    assert _claim(session_factory, "w2", now=T0 + timedelta(seconds=1)) == []
    (again,) = _claim(session_factory, "w2", now=T0 + timedelta(seconds=2))
    assert not again.unconfirmed


def test_reschedule_counts_attempts_and_keeps_the_unconfirmed_mark(
    session_factory: sessionmaker[Session],
) -> None:
    _add(session_factory, _post("a"))
    (row,) = _claim(session_factory, "w1")
    with transaction(session_factory) as session:
        outbox.reschedule(
            session,
            row.id,
            "w1",
            T0 + timedelta(seconds=3),
            attempts=1,
            error="connection dropped",
            unconfirmed=True,
        )
    stored = _row(session_factory, "a")
    assert (stored.attempts, stored.last_error, stored.lease_until) == (
        1,
        "connection dropped",
        None,
    )
    (again,) = _claim(session_factory, "w2", now=T0 + timedelta(seconds=3))
    assert again.unconfirmed and again.attempts == 1


def test_sqlite_without_returning_is_refused_clearly(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(sqlite_url)
    monkeypatch.setattr(outbox.sqlite3, "sqlite_version_info", (3, 31, 1))
    with (
        pytest.raises(RuntimeError, match="RETURNING"),
        transaction(make_session_factory(engine)) as session,
    ):
        outbox.claim(session, "w", T0, 10, LEASE)
    engine.dispose()


def test_concurrent_claims_never_share_a_row(db_url: str) -> None:
    keys = [f"k{i}" for i in range(300)]
    setup = make_engine(db_url)
    _add(make_session_factory(setup), *[_post(k, channel=f"C{i}") for i, k in enumerate(keys)])
    setup.dispose()

    taken: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        engine = make_engine(db_url)
        factory = make_session_factory(engine)
        mine: list[int] = []
        start.wait()
        while batch := _claim(factory, name, limit=7):
            mine.extend(r.id for r in batch)
        taken[name] = mine
        engine.dispose()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    every = [row_id for ids in taken.values() for row_id in ids]
    assert len(every) == len(set(every)) == len(keys)


# --- parents --------------------------------------------------------------------


def _dm_pair(user: str = "U1") -> tuple[OutboundCall, OutboundCall]:
    opener = OutboundCall(f"open:{user}", "conversations.open", {"users": user}, channel_key=user)
    post = OutboundCall(
        f"dm:{user}",
        "chat.postMessage",
        {"channel": from_parent("channel.id"), "text": "hi", "blocks": [{"type": "divider"}]},
        parent_key=f"open:{user}",
    )
    return opener, post


def test_a_child_waits_for_its_parent_and_gets_its_result(
    session_factory: sessionmaker[Session],
) -> None:
    opener, post = _dm_pair()
    _add(session_factory, post, opener)

    (parent,) = _claim(session_factory, "w1")
    assert parent.idempotency_key == "open:U1"
    assert _claim(session_factory, "w1") == []  # the child waits
    with transaction(session_factory) as session:
        outbox.mark_sent(session, parent.id, "w1", {"channel": {"id": "D42"}}, T0)

    (child,) = _claim(session_factory, "w1")
    assert child.payload == {"channel": "D42", "text": "hi", "blocks": [{"type": "divider"}]}
    assert child.channel_key == "D42"


def test_a_thread_reply_takes_the_parent_post_ts(session_factory: sessionmaker[Session]) -> None:
    head = _post("head")
    reply = OutboundCall(
        "reply",
        "chat.postMessage",
        {"channel": "C1", "text": "more", "thread_ts": from_parent("ts")},
        parent_key="head",
    )
    _add(session_factory, head, reply)
    (parent,) = _claim(session_factory, "w1")
    with transaction(session_factory) as session:
        outbox.mark_sent(session, parent.id, "w1", {"channel": "C1", "ts": "111.000200"}, T0)
    (child,) = _claim(session_factory, "w1")
    assert child.payload["thread_ts"] == "111.000200"


def test_a_path_the_parent_lacks_makes_the_child_dead(
    session_factory: sessionmaker[Session],
) -> None:
    opener, post = _dm_pair()
    _add(session_factory, opener, post)
    (parent,) = _claim(session_factory, "w1")
    with transaction(session_factory) as session:
        outbox.mark_sent(session, parent.id, "w1", {"ok": True}, T0)

    assert _claim(session_factory, "w1") == []
    dead = _row(session_factory, "dm:U1")
    assert dead.status == "dead"
    assert dead.last_error == "cannot build the call: the parent's result has no 'channel.id'"


def test_a_dead_parent_takes_its_waiting_rows_and_requeue_brings_them_back(
    session_factory: sessionmaker[Session],
) -> None:
    opener, post = _dm_pair()
    grandchild = OutboundCall(
        "reply",
        "chat.postMessage",
        {"channel": "C1", "text": "x", "thread_ts": from_parent("ts")},
        parent_key="dm:U1",
    )
    _add(session_factory, opener, post, grandchild)
    (parent,) = _claim(session_factory, "w1")
    with transaction(session_factory) as session:
        outbox.mark_dead(
            session, parent.id, "w1", attempts=1, error="user_not_found", unconfirmed=False
        )
    assert _row(session_factory, "dm:U1").last_error == "waited on open:U1, which is dead"
    assert _row(session_factory, "reply").status == "dead"
    with factory_session(session_factory) as session:
        assert outbox.counts(session) == outbox.OutboxCounts(pending=0, retrying=0, dead=3)

    child_id = _row(session_factory, "dm:U1").id
    with (
        pytest.raises(outbox.NotRequeued, match="waits on row"),
        transaction(session_factory) as session,
    ):
        outbox.requeue(session, child_id, T0)

    with transaction(session_factory) as session:
        done = outbox.requeue(session, parent.id, T0 + timedelta(hours=1))
    assert done.dependents == 2
    assert (done.row.status, done.row.attempts, done.row.next_attempt_at) == (
        "pending",
        0,
        T0 + timedelta(hours=1),
    )
    assert _row(session_factory, "reply").status == "pending"


def test_requeue_refuses_unknown_and_live_rows(session_factory: sessionmaker[Session]) -> None:
    _add(session_factory, _post("a"))
    row_id = _row(session_factory, "a").id
    with transaction(session_factory) as session:
        with pytest.raises(outbox.NotRequeued, match="no outbox row with id 999"):
            outbox.requeue(session, 999, T0)
        with pytest.raises(outbox.NotRequeued, match="is pending, not dead"):
            outbox.requeue(session, row_id, T0)


# --- what admins see --------------------------------------------------------------


def test_counts_and_listings(session_factory: sessionmaker[Session]) -> None:
    _add(session_factory, _post("fresh"), _post("flaky"), _post("broken"), _post("done"))
    rows = {r.idempotency_key: r for r in _claim(session_factory, "w1")}
    with transaction(session_factory) as session:
        outbox.reschedule(
            session,
            rows["flaky"].id,
            "w1",
            T0 + timedelta(seconds=4),
            attempts=2,
            error="HTTP 503",
            unconfirmed=False,
        )
        outbox.mark_dead(
            session,
            rows["broken"].id,
            "w1",
            attempts=1,
            error="channel_not_found",
            unconfirmed=False,
        )
        outbox.mark_sent(session, rows["done"].id, "w1", {"ts": "1"}, T0)
        outbox.release(session, [rows["fresh"].id], "w1")

    with factory_session(session_factory) as session:
        assert outbox.counts(session) == outbox.OutboxCounts(pending=1, retrying=1, dead=1)
        assert [r.idempotency_key for r in outbox.pending_rows(session)] == ["fresh"]
        assert [r.idempotency_key for r in outbox.retrying_rows(session)] == ["flaky"]
        (dead,) = outbox.dead_rows(session)
        assert (dead.idempotency_key, dead.last_error) == ("broken", "channel_not_found")
        assert outbox.has_pending(session)
        assert outbox.next_due(session, T0) == T0


def factory_session(factory: sessionmaker[Session]) -> Session:
    return factory()
