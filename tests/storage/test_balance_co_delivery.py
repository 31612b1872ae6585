"""Co-delivery (joint KPI check-ins) makes ties and reach, never give/take."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from rituals.interactions import InteractionKind
from storage.balance import own_flows, pair_aggregates
from storage.db import transaction
from tests.rituals.balance_reference import InteractionRecord
from tests.rituals.test_balance import END, HAND_RECORDS, START
from tests.storage.test_balance_sql import PARTNERSHIP, A, B, log_records, seed_org

K = InteractionKind


def test_co_delivery_counts_for_ties_and_reach_only(
    session_factory: sessionmaker[Session],
) -> None:
    seed_org(session_factory)
    with transaction(session_factory) as s:
        log_records(s, HAND_RECORDS)
    with session_factory() as s:
        before = pair_aggregates(s, PARTNERSHIP, A, B, START, END)
    at = START + timedelta(days=5)
    # Two check-ins: each owner logs one co-delivery to the other, so they share a tie.
    with transaction(session_factory) as s:
        log_records(
            s,
            [
                InteractionRecord(K.CO_DELIVERY, 19, 39, A, B, at),
                InteractionRecord(K.CO_DELIVERY, 39, 19, B, A, at + timedelta(days=7)),
            ],
        )
    with session_factory() as s:
        after = pair_aggregates(s, PARTNERSHIP, A, B, START, END)
        own = own_flows(s, PARTNERSHIP, 19, [A, B], START, END)
    assert (after.flows_a_to_b, after.flows_b_to_a) == (before.flows_a_to_b, before.flows_b_to_a)
    assert after.cross_counts == before.cross_counts  # the spread of give/take work
    assert after.top_two_interactions == before.top_two_interactions
    assert (after.tied_a, after.tied_b) == (before.tied_a + 1, before.tied_b + 1)
    assert (own.given, own.received) == ({}, {})  # a member's own give/take ignores it too
