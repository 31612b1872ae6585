"""The leaders' chart is readable in Slack's preview: its size, type, axes and balanced band.

The properties are read from the matplotlib figure before it is saved, and
the PNG header gives its size; docs/demo-chart.png is what it looks like.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.chart import BALANCED_LABEL, DPI, balance_chart, balance_figure
from bot.demo import PARTNERSHIP, build_demo
from bot.digest import Digest, Month, compute_digest, find_partnership
from storage.db import make_engine, make_session_factory

# The chart used to be 1000 x 360 pixels.
MIN_WIDTH, MIN_HEIGHT = 2000, 720
# Slack shows an image's preview about this many pixels wide.
PREVIEW_WIDTH = 500
MIN_PREVIEW_TEXT_PX = 9


@pytest.fixture(scope="module")
def digests(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Digest]]:
    path = tmp_path_factory.mktemp("chart") / "demo.db"
    url, _ = build_demo(path, datetime(2025, 4, 2, tzinfo=UTC))
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            partnership = find_partnership(session, PARTNERSHIP)
            yield {
                key: compute_digest(session, partnership.id, Month.parse(key))
                for key in ("2025-03", "2025-06", "2024-06")
            }
    finally:
        engine.dispose()


def _png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _panels(figure: Any) -> tuple[Any, Any]:
    bars, share = figure.axes[:2]
    return bars, share


@pytest.mark.parametrize("month", ["2025-03", "2024-06"])
def test_the_chart_is_at_least_twice_the_old_resolution(
    digests: dict[str, Digest], month: str
) -> None:
    width, height = _png_size(balance_chart(digests[month]))
    assert width >= MIN_WIDTH and height >= MIN_HEIGHT


def test_all_text_stays_readable_when_slack_scales_it_down(digests: dict[str, Digest]) -> None:
    figure = balance_figure(digests["2025-03"])
    figure.canvas.draw()
    width_px = figure.get_figwidth() * DPI
    texts = [t for t in figure.findobj(lambda a: hasattr(a, "get_fontsize")) if t.get_text()]
    assert len(texts) > 10
    for text in texts:
        shown = text.get_fontsize() * DPI / 72 * PREVIEW_WIDTH / width_px
        assert shown >= MIN_PREVIEW_TEXT_PX, (text.get_text(), shown)


def test_axes_are_labelled_and_months_are_named_as_in_the_title(
    digests: dict[str, Digest],
) -> None:
    digest = digests["2025-03"]
    figure = balance_figure(digest)
    bars, share = _panels(figure)
    assert "count" in bars.get_xlabel()
    assert "share" in share.get_ylabel()
    assert "March 2025" in figure.get_suptitle()
    ticks = [label.get_text() for label in share.get_xticklabels()]
    assert ticks == ["Jan\n2025", "Feb", "Mar"]  # not 2025-03
    assert digest.month.label.startswith(ticks[-1])


def test_the_balanced_band_is_drawn(digests: dict[str, Digest]) -> None:
    digest = digests["2025-03"]
    _, share = _panels(balance_figure(digest))
    bands = [p for p in share.patches if p.get_label().startswith(BALANCED_LABEL)]
    assert len(bands) == 1
    band = bands[0]
    assert (band.get_y(), band.get_y() + band.get_height()) == pytest.approx((40, 60))
    assert band.get_label() == f"{BALANCED_LABEL} (40–60 %)"
    assert share.get_ylim() == (0, 100)


@pytest.mark.parametrize("month", ["2025-06", "2024-06"])
def test_an_empty_month_has_whole_non_negative_counts(
    digests: dict[str, Digest], month: str
) -> None:
    bars, share = _panels(balance_figure(digests[month]))
    low, high = bars.get_xlim()
    assert low == 0 and high >= 1
    ticks = [t for t in bars.get_xticks() if low <= t <= high]
    assert len(ticks) >= 2
    assert all(t >= 0 and float(t).is_integer() for t in ticks)
    assert share.get_ylim() == (0, 100)


def test_counts_are_whole_numbers_on_a_busy_month(digests: dict[str, Digest]) -> None:
    bars, _ = _panels(balance_figure(digests["2025-03"]))
    low, high = bars.get_xlim()
    assert all(float(t).is_integer() for t in bars.get_xticks() if low <= t <= high)


def test_the_demo_chart_in_the_docs_is_current(digests: dict[str, Digest]) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "demo-chart.png"
    assert _png_size(docs.read_bytes()) == _png_size(balance_chart(digests["2025-03"]))
