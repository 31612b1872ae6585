"""The digest's chart: both directions of flow this month, and their last six months.

matplotlib is imported inside the function, so starting the bot does not pay
for it; the Agg canvas draws straight to PNG bytes with no display and no
global pyplot state, so charts can be drawn from any thread.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.digest import Digest

# Colour-blind-safe pair (Okabe-Ito blue and orange): one colour per direction.
FIRST_DIRECTION = "#0072B2"
SECOND_DIRECTION = "#E69F00"
_ROW_HEIGHT_INCHES = 3.0
_WIDTH_INCHES = 10.0
_DPI = 100


def balance_chart(digest: Digest) -> bytes:
    """A PNG with one row per pair of teams: this month's bars, then the six-month lines."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = max(1, len(digest.pairs))
    figure = Figure(figsize=(_WIDTH_INCHES, _ROW_HEIGHT_INCHES * rows + 0.6), dpi=_DPI)
    FigureCanvasAgg(figure)
    figure.suptitle(
        f"{digest.partnership_name}: cross-team flows, {digest.month.label}", fontsize=13
    )
    axes = figure.subplots(rows, 2, squeeze=False, gridspec_kw={"width_ratios": (2, 3)})
    for (bars, lines), pair in zip(axes, digest.pairs, strict=False):
        s = pair.summary
        a, b = s.team_a.team.name, s.team_b.team.name
        forward, backward = f"{a} → {b}", f"{b} → {a}"

        bars.barh(
            [backward, forward],
            [s.flows_b_to_a, s.flows_a_to_b],
            color=[SECOND_DIRECTION, FIRST_DIRECTION],
        )
        for y, count in enumerate((s.flows_b_to_a, s.flows_a_to_b)):
            bars.annotate(
                str(count), (count, y), xytext=(4, 0), textcoords="offset points", va="center"
            )
        bars.set_title(f"{digest.month.label}", fontsize=10)
        bars.set_xlabel("flows (help, kudos, shadowing, mentions)")
        bars.margins(x=0.2)
        bars.spines[["top", "right"]].set_visible(False)

        history = pair.active_history
        positions = list(range(len(history)))
        lines.plot(
            positions, [h.a_to_b for h in history], "o-", color=FIRST_DIRECTION, label=forward
        )
        lines.plot(
            positions, [h.b_to_a for h in history], "s--", color=SECOND_DIRECTION, label=backward
        )
        lines.set_xticks(positions, [h.month.key for h in history])
        lines.set_xlim(-0.5, max(positions) + 0.5)
        lines.set_title(f"{pair.title}, month by month", fontsize=10)
        lines.set_ylim(bottom=0)
        lines.legend(loc="upper left", fontsize=8, frameon=False)
        lines.spines[["top", "right"]].set_visible(False)
        lines.tick_params(axis="x", labelsize=8)
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
