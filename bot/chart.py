"""The digest's chart: who gave to whom this month, and the give share over six months.

Leaders mostly see it as Slack's preview, scaled down to a few hundred pixels
wide, so it is drawn large (2000 px wide) with big type, few words and the
balanced band shaded: a point inside the green band is good, at a glance.

matplotlib is imported inside the functions, so starting the bot does not pay
for it; the Agg canvas draws straight to PNG bytes with no display and no
global pyplot state, so charts can be drawn from any thread.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.digest import Digest, PairDigest

# Colour-blind-safe pair (Okabe-Ito blue and orange): one colour per direction.
FIRST_DIRECTION = "#0072B2"
SECOND_DIRECTION = "#E69F00"
BALANCED_COLOUR = "#009E73"  # Okabe-Ito bluish green
WIDTH_INCHES = 10.0
ROW_HEIGHT_INCHES = 4.4
TITLE_INCHES = 0.8
DPI = 200
# Point sizes chosen for a 2000 px image shown about 500 px wide in Slack.
TITLE_SIZE = 22
PANEL_TITLE_SIZE = 18
LABEL_SIZE = 16
TICK_SIZE = 15
BALANCED_LABEL = "balanced"


def balance_chart(digest: Digest) -> bytes:
    """The chart as PNG bytes."""
    figure = balance_figure(digest)
    buffer = io.BytesIO()
    # No metadata beyond the picture: the file carries nothing a label does not show.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def balance_figure(digest: Digest) -> Any:
    """One row per pair of teams: this month's flows, then the give share month by month.

    A pair with a team under the minimum group size has no row at all.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = digest.shown_pairs
    rows = max(1, len(shown))
    figure = Figure(
        figsize=(WIDTH_INCHES, ROW_HEIGHT_INCHES * rows + TITLE_INCHES),
        dpi=DPI,
        layout="constrained",
    )
    FigureCanvasAgg(figure)
    figure.suptitle(
        f"{digest.partnership_name}: give and take, {digest.month.label}",
        fontsize=TITLE_SIZE,
        fontweight="bold",
    )
    axes = figure.subplots(rows, 2, squeeze=False, gridspec_kw={"width_ratios": (2, 3)})
    for (bars, share), pair in zip(axes, shown, strict=False):
        _this_month(bars, pair, digest)
        _share_by_month(share, pair, digest)
    if not shown:
        for ax in axes[0]:
            ax.set_axis_off()
        axes[0][0].text(0.5, 0.5, "No pair of teams to show", fontsize=LABEL_SIZE, ha="center")
    return figure


def _this_month(ax: Any, pair: PairDigest, digest: Digest) -> None:
    """Horizontal bars: flows each way, counts at the bar ends, whole numbers on the axis."""
    from matplotlib.ticker import MaxNLocator

    s = pair.summary
    a, b = s.team_a.team.name, s.team_b.team.name
    counts = (s.flows_b_to_a, s.flows_a_to_b)
    ax.barh(
        [f"{b} → {a}", f"{a} → {b}"], counts, color=[SECOND_DIRECTION, FIRST_DIRECTION], height=0.6
    )
    for y, count in enumerate(counts):
        ax.annotate(
            str(count),
            (count, y),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=LABEL_SIZE,
            fontweight="bold",
        )
    ax.set_xlim(0, max(1, *counts) * 1.25)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4, min_n_ticks=2))
    ax.set_xlabel("cross-team flows (count)", fontsize=LABEL_SIZE)
    ax.set_title(digest.month.label, fontsize=PANEL_TITLE_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.spines[["top", "right"]].set_visible(False)


def _share_by_month(ax: Any, pair: PairDigest, digest: Digest) -> None:
    """The first team's give share per month, over the shaded balanced band."""
    from matplotlib.ticker import PercentFormatter

    s = pair.summary
    a = s.team_a.team.name
    history = pair.active_history
    positions = list(range(len(history)))
    low, high = 1.0 - digest.balanced_share, digest.balanced_share
    ax.axhspan(
        100 * low,
        100 * high,
        color=BALANCED_COLOUR,
        alpha=0.2,
        label=f"{BALANCED_LABEL} ({100 * low:.0f}–{100 * high:.0f} %)",
    )
    ax.axhline(50, color=BALANCED_COLOUR, linewidth=1, linestyle=":")
    ax.text(
        0.02,
        0.98,
        f"■ {BALANCED_LABEL}: {100 * low:.0f}–{100 * high:.0f} %",
        transform=ax.transAxes,
        color=BALANCED_COLOUR,
        fontsize=TICK_SIZE,
        fontweight="bold",
        va="top",
    )
    # A month under the minimum group size is a gap, like a month without flows.
    shares = [
        100 * h.a_to_b / (h.a_to_b + h.b_to_a)
        if h.a_to_b + h.b_to_a and not h.hidden
        else float("nan")
        for h in history
    ]
    ax.plot(
        positions,
        shares,
        "o-",
        color=FIRST_DIRECTION,
        linewidth=3,
        markersize=9,
        label=f"{a}'s share",
    )
    ax.set_xticks(positions, [_month_tick(h.month, i == 0) for i, h in enumerate(history)])
    ax.set_xlim(-0.5, max(positions) + 0.5)
    ax.set_ylim(0, 100)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_ylabel(f"{a}'s share of giving", fontsize=LABEL_SIZE)
    ax.set_title(f"{pair.title}, month by month", fontsize=PANEL_TITLE_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    for x, share in zip(positions, shares, strict=True):
        if share == share:  # not NaN
            ax.annotate(
                f"{share:.0f} %",
                (x, share),
                xytext=(0, 12),
                textcoords="offset points",
                ha="center",
                fontsize=TICK_SIZE,
                color=FIRST_DIRECTION,
                fontweight="bold",
            )
    ax.spines[["top", "right"]].set_visible(False)
    if all(share != share for share in shares):  # NaN: no flow either way
        ax.text(
            0.5,
            0.5,
            "no cross-team flows yet",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=LABEL_SIZE,
            bbox={"facecolor": "white", "edgecolor": "none"},
        )


def _month_tick(month: Any, first: bool) -> str:
    """ "Mar" under each point, with the year under January and under the first point."""
    from datetime import date

    name = date(month.year, month.month, 1).strftime("%b")
    return f"{name}\n{month.year}" if first or month.month == 1 else name
