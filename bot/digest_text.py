"""How the balance reads in words: metric names, values, bands, arrows, and the terminal table.

Slack's Block Kit message, the chart and `tandem digest` all take their
wording from here, so a number reads the same everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rituals.balance import (
    BANDED_METRICS,
    NOT_ENOUGH_DATA,
    Arrow,
    Band,
    Metric,
    MetricLine,
    PairSummary,
    TeamLine,
    Trend,
)

if TYPE_CHECKING:
    from bot.digest import Digest, PairDigest

METRIC_NAMES: dict[Metric, str] = {
    Metric.GIVE_SHARE: "Give share",
    Metric.RECIPROCITY: "Reciprocity",
    Metric.REACH: "Reach",
    Metric.OPENNESS: "Boundary openness",
    Metric.TOP_TWO_SHARE: "Top-two share",
    Metric.GINI: "Spread of the work (Gini)",
    Metric.BLOCKER_SHARE: "Blockers naming the other team",
    Metric.ASK_MEDIAN_HOURS: "Median wait for an ask",
    Metric.UNANSWERED_SHARE: "Asks unanswered",
}
_SHARES = frozenset(
    {
        Metric.GIVE_SHARE,
        Metric.REACH,
        Metric.TOP_TWO_SHARE,
        Metric.BLOCKER_SHARE,
        Metric.UNANSWERED_SHARE,
    }
)
BAND_EMOJI: dict[Band | None, str] = {
    Band.GREEN: ":large_green_circle:",
    Band.AMBER: ":large_orange_circle:",
    Band.RED: ":red_circle:",
    None: ":white_circle:",
}
ARROWS: dict[Arrow, str] = {Arrow.UP: "↑", Arrow.DOWN: "↓"}

# The one convention a reader needs for the directions: said once wherever counts appear.
KUDOS_NOTE = (
    "A thank-you (kudos) counts as given by whoever was thanked: they gave the help "
    "being thanked for."
)


def band_word(band: Band | None) -> str:
    return band.value if band else NOT_ENOUGH_DATA


def band_cell(line: MetricLine) -> str:
    """Reciprocity restates the give share and has no band of its own."""
    return "–" if line.metric not in BANDED_METRICS else band_word(line.band)


def value_text(metric: Metric, value: float | None) -> str:
    if value is None:
        return "–"
    if metric in _SHARES:
        return f"{value:.0%}"
    if metric is Metric.ASK_MEDIAN_HOURS:
        return f"{value:.1f} h"
    if metric is Metric.OPENNESS:
        return f"{value:+.2f}"
    return f"{value:.2f}"


def change_text(metric: Metric, change: float) -> str:
    if metric in _SHARES:
        return f"{change * 100:+.0f} pts"
    if metric is Metric.ASK_MEDIAN_HOURS:
        return f"{change:+.1f} h"
    return f"{change:+.2f}"


def trend_text(metric: Metric, trend: Trend) -> str:
    """'↑ +12 pts', 'steady' or 'not enough data'; the arrow is the number's direction."""
    if trend.arrow in ARROWS and trend.vs_last_month is not None:
        return f"{ARROWS[trend.arrow]} {change_text(metric, trend.vs_last_month)}"
    return trend.arrow.value


def give_share_text(summary: PairSummary, value: float | None) -> str:
    if value is None:
        return "–"
    a, b = summary.team_a.team.name, summary.team_b.team.name
    return f"{a} {value:.0%} · {b} {1 - value:.0%}"


def line_value(summary: PairSummary, line: MetricLine) -> str:
    if line.metric is Metric.GIVE_SHARE:
        return give_share_text(summary, line.value)
    return value_text(line.metric, line.value)


def reach_line(side: TeamLine) -> MetricLine | None:
    return next((m for m in side.metrics if m.metric is Metric.REACH), None)


def flows_text(summary: PairSummary) -> str:
    a, b = summary.team_a.team.name, summary.team_b.team.name
    return (
        f"{a} gave {b} {summary.flows_a_to_b} · {b} gave {a} {summary.flows_b_to_a} "
        f"({summary.cross_events} cross-team flows); asks: {summary.asks}, "
        f"unanswered: {summary.asks_unanswered}"
    )


# --- the terminal ------------------------------------------------------------------


def _rows(pair: PairDigest) -> list[tuple[str, str, str, str]]:
    """Pair metrics in order, with each team's reach right after reciprocity."""
    s = pair.summary
    rows: list[tuple[str, str, str, str]] = []
    for line in s.metrics:
        rows.append(
            (
                METRIC_NAMES[line.metric],
                line_value(s, line),
                band_cell(line),
                trend_text(line.metric, line.trend),
            )
        )
        if line.metric is not Metric.RECIPROCITY:
            continue
        for side in (s.team_a, s.team_b):
            name = f"Reach ({side.team.name})"
            reach = reach_line(side)
            if reach is None:
                rows.append((name, side.note or "hidden", "", ""))
            else:
                rows.append(
                    (
                        name,
                        value_text(Metric.REACH, reach.value),
                        band_word(reach.band),
                        trend_text(Metric.REACH, reach.trend),
                    )
                )
    return rows


def _table(rows: list[tuple[str, str, str, str]]) -> list[str]:
    header = ("Metric", "Value", "Band", "Trend vs last month")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]

    def fmt(row: tuple[str, str, str, str]) -> str:
        return "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()

    return [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def render_table(digest: Digest) -> str:
    """The digest as plain text for a terminal: one table per pair, then its next steps."""
    lines = [
        f"Interdependence balance: {digest.partnership_name}, {digest.month.label}",
        f"({digest.interdependence.value} partnership; months run midnight to midnight "
        f"in {digest.timezone}; aggregates only, no one is named)",
    ]
    if digest.incomplete_note:
        lines.append(f"Note: {digest.incomplete_note}")
    if digest.settings_problem:
        lines.append(f"Note: band settings ignored ({digest.settings_problem}); defaults used.")
    lines.append(KUDOS_NOTE)
    for pair in digest.pairs:
        s = pair.summary
        lines += ["", f"== {pair.title} =="]
        if s.hidden:
            lines.append(f"Headline: {s.hidden_note}")
            continue
        if s.not_enough_activity:
            lines.append(f"Headline: {s.activity_note}")
        else:
            lines.append(f"Headline: {band_word(s.headline).upper()}")
        lines.append(flows_text(s))
        lines.append("")
        lines += _table(_rows(pair))
        lines += ["", "Next steps:" if s.next_steps else "Next steps: none, keep going."]
        for number, step in enumerate(s.next_steps, start=1):
            tag = f"[{step.band.value}] " if step.band else ""
            lines.append(f"  {number}. {tag}{step.text}")
        months = ", ".join(
            f"{h.month.key}: hidden" if h.hidden else f"{h.month.key}: {h.a_to_b}/{h.b_to_a}"
            for h in pair.active_history
        )
        lines.append(
            f"Flows by month (what {s.team_a.team.name} gave {s.team_b.team.name} / "
            f"what it got back): {months}"
        )
    return "\n".join(lines)
