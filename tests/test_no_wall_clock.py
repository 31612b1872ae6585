"""No test times the machine: a busy CI host must not fail a correct build.

Tests pin time with freezegun, pass `now`, or count waits through an injected
sleep; an assertion on elapsed wall-clock time is flaky by construction.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parent
ROOT = TESTS.parent
CLOCKS = re.compile(r"perf_counter|monotonic\(|time\.time\(|datetime\.now\(|elapsed")


def test_no_assertion_reads_the_wall_clock() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("assert") and CLOCKS.search(stripped):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {stripped}")
    assert offenders == []


def test_ci_lints_before_it_tests() -> None:
    steps = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "make lint" in steps and "make test" in steps
    assert steps.index("make lint") < steps.index("make test")
