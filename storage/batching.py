"""Cutting a caller's list so that no statement binds too many parameters.

Drivers cap the parameters of one statement: PostgreSQL's protocol at 65,535,
SQLite at 32,766 since 3.32 and at 999 before. A multi-row VALUES binds one
parameter per column per row and an IN list one per item, so a statement
built from a list whose length comes from Slack (a user group, a round's
pairings, a day's prompts) goes through `batches` and stays under all of
them, whatever the list's length.

A list of parameter sets passed to `session.execute(stmt, rows)` is split
by SQLAlchemy itself (insertmanyvalues) under the dialect's limit; our bulk
inserts still go through `batches` and pass each batch that way, so one
compiled statement is reused (building a multi-row VALUES per batch costs
more than running it). Lists bounded by configuration (a partnership's
teams, a sender's claimed rows) are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")

# Well under the smallest limit (999), leaving room for the statement's own
# parameters (a workspace id, a status, a time) beside the batch.
MAX_PARAMETERS = 900


def batch_size(per_item: int = 1) -> int:
    """How many items fit in one statement when each binds `per_item` parameters."""
    if per_item < 1:
        raise ValueError(f"per_item must be at least 1, got {per_item}")
    return max(1, MAX_PARAMETERS // per_item)


def batches(items: Iterable[T], per_item: int = 1) -> Iterator[list[T]]:
    """`items` in consecutive lists of at most `batch_size(per_item)`, in order."""
    size = batch_size(per_item)
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
