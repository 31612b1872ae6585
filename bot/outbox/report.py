"""The outbox as text for `tandem outbox`: counts, then the rows someone may need to look at."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.outbox import OutboxCounts, OutboxRow, Requeued

KEY_WIDTH = 48
ERROR_WIDTH = 120


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]


def counts_line(counts: OutboxCounts) -> str:
    return f"outbox: {counts.pending} pending, {counts.retrying} retrying, {counts.dead} dead"


def _section(title: str, rows: Sequence[OutboxRow], total: int, when: str) -> list[str]:
    if not rows:
        return []
    header = ("ID", "ATTEMPTS", f"{when.upper()} (UTC)", "METHOD", "CHANNEL", "KEY", "LAST ERROR")
    return [
        "",
        f"{title} ({len(rows)} of {total}):",
        *_table(
            header,
            [
                (
                    str(r.id),
                    str(r.attempts),
                    _when(r.next_attempt_at if when == "next attempt" else r.created_at),
                    r.method,
                    r.channel_key or "-",
                    _cut(r.idempotency_key, KEY_WIDTH),
                    _cut(r.last_error or "-", ERROR_WIDTH),
                )
                for r in rows
            ],
        ),
    ]


def outbox_listing(
    counts: OutboxCounts,
    pending: Sequence[OutboxRow],
    retrying: Sequence[OutboxRow],
    dead: Sequence[OutboxRow],
) -> str:
    lines = [counts_line(counts)]
    lines += _section("Pending, soonest first", pending, counts.pending, "next attempt")
    lines += _section("Retrying, soonest first", retrying, counts.retrying, "next attempt")
    lines += _section("Dead, oldest first", dead, counts.dead, "created")
    if dead:
        lines += ["", "Fix the cause, then re-queue a dead row with `tandem outbox retry ID`."]
    if not (pending or retrying or dead):
        lines.append("Nothing waiting and nothing dead.")
    return "\n".join(lines)


def requeued_line(done: Requeued) -> str:
    row = done.row
    text = (
        f"re-queued outbox row {row.id}: {row.method} to {row.channel_key or '-'} "
        f"(key {row.idempotency_key}), attempts reset to 0, due now"
    )
    if done.dependents:
        text += f"; {done.dependents} row(s) that waited on it re-queued too"
    return text
