"""benchmarks/bench_digest.py at a tiny size, on both databases: every path agrees; nothing is timed.

`make bench` runs the script at full size; this keeps its code working in CI.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine

from storage.db import make_engine

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_digest.py"


def bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_digest", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def test_the_digest_benchmark_agrees_on_every_path(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = bench_module()
    backend = "postgres" if db_url.startswith("postgresql") else "sqlite"

    @contextmanager
    def engine() -> Iterator[Engine]:
        made = make_engine(db_url)
        try:
            yield made
        finally:
            made.dispose()

    (figures,) = bench.run_size(4_000, 150, [(backend, engine)], repeat=1)
    assert figures.month_rows > 0
    assert figures.agrees_with_reference
    assert figures.snapshots_equal_live
    assert figures.in_progress_equals_live
    assert figures.stored_months == 6
    out = capsys.readouterr().out
    assert "whole digest, warm" in out and "anchor" in out
