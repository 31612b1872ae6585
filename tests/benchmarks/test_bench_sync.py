"""benchmarks/bench_sync.py at a tiny size: its code path works and its outcomes are right.

No figure is checked (timing belongs to `make bench`); only what each sync
did, that the rate limits were met and waited out, and that the anchors ran.
"""

from __future__ import annotations

from benchmarks.bench_sync import measure, old_way_peak

MEMBERS = 400  # a workspace of 420: three users.list pages


def test_the_sync_benchmark_runs_tiny(db_url: str) -> None:
    lines: list[str] = []
    # Two calls a minute: the tiny run meets the limit as the full one meets Tier 2.
    limits = {"users.list": 2, "usergroups.users.list": 2}
    figures = measure(db_url, "test", MEMBERS, limits=limits, report=lines.append)
    first, again, churned = figures.runs
    deactivated = 0  # one in 500 is deactivated: none among the first 400
    assert first.result is not None and again.result is not None and churned.result is not None
    assert (first.result.members, first.result.added, first.result.removed) == (400, 400, 0)
    assert (again.result.added, again.result.removed) == (0, 0)
    assert (churned.result.members, churned.result.added, churned.result.removed) == (400, 20, 20)
    assert first.result.excluded == deactivated
    for run in (first, again, churned, figures.anchor_reads):
        assert run.by_method == {"usergroups.users.list": 1, "users.list": 3}
        assert run.limited_calls >= 1 and run.waited >= 60  # waited out, on the virtual clock
    assert figures.traced_peak > 0 and figures.anchor_insert_seconds > 0
    assert len(lines) == 7 and "answered 429" in lines[1]
    assert old_way_peak(MEMBERS, limits) > 0
