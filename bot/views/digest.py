"""The leaders' balance message, the modal that explains it, and a member's own balance reply.

Everything shown comes from the summary types, which hold teams and
numbers only, so these views cannot name a person even by mistake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.digest_text import (
    BAND_EMOJI,
    KUDOS_NOTE,
    METRIC_NAMES,
    band_word,
    flows_text,
    line_value,
    reach_line,
    trend_text,
    value_text,
)
from rituals.balance import NOT_ENOUGH_ACTIVITY, Metric, MetricLine, PairSummary, TeamLine
from rituals.slack_text import escape

if TYPE_CHECKING:
    from bot.digest import Digest, PairDigest
    from bot.member_balance import OwnBalance


EXPLAIN_ACTION_ID = "digest_explain"
EXPLAIN_CALLBACK_ID = "digest_explain_modal"
EXPLAIN_BUTTON_TEXT = "What do these numbers mean?"
# Slack refuses messages with more than 50 blocks; each pair takes four.
MAX_BLOCKS = 50
_BLOCKS_PER_PAIR = 4
_FRAME_BLOCKS = 5


def _field(name: str, body: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=f"*{escape(name)}*\n{body}")


def _metric_field(summary: PairSummary, line: MetricLine) -> MarkdownTextObject:
    value = escape(line_value(summary, line))
    if line.metric is Metric.RECIPROCITY:  # restates the give share: no band of its own
        return _field(METRIC_NAMES[line.metric], f"{value} · {trend_text(line.metric, line.trend)}")
    band = f"{BAND_EMOJI[line.band]} {band_word(line.band)}"
    return _field(
        METRIC_NAMES[line.metric], f"{value} {band} · {trend_text(line.metric, line.trend)}"
    )


def _reach_field(side: TeamLine) -> MarkdownTextObject:
    name = f"Reach ({side.team.name})"
    reach = reach_line(side)
    if reach is None:
        return _field(name, f"_{side.note or 'hidden'}_")
    body = (
        f"{value_text(Metric.REACH, reach.value)} {BAND_EMOJI[reach.band]} "
        f"{band_word(reach.band)} · {trend_text(Metric.REACH, reach.trend)}"
    )
    return _field(name, body)


def _fields(summary: PairSummary) -> list[MarkdownTextObject]:
    fields: list[MarkdownTextObject] = []
    for line in summary.metrics:
        fields.append(_metric_field(summary, line))
        if line.metric is Metric.RECIPROCITY:
            fields += [_reach_field(summary.team_a), _reach_field(summary.team_b)]
    return fields[:10]  # Slack's limit per section; there are exactly ten


def _steps(summary: PairSummary) -> str:
    if not summary.next_steps:
        return "*Next steps:* nothing is amber or red this month. Keep going."
    lines = [
        f"{number}. {BAND_EMOJI[step.band] + ' ' if step.band else ''}{escape(step.text)}"
        for number, step in enumerate(summary.next_steps, start=1)
    ]
    return "*Next steps*\n" + "\n".join(lines)


def _pair_blocks(pair: PairDigest) -> list[Block]:
    s = pair.summary
    if s.hidden:
        text = f"{BAND_EMOJI[None]} *{escape(pair.title)}*\n_{escape(s.hidden_note or '')}_"
        return [DividerBlock(), SectionBlock(text=MarkdownTextObject(text=text))]
    if s.not_enough_activity:
        headline = f"{BAND_EMOJI[None]} *{escape(pair.title)}*: {NOT_ENOUGH_ACTIVITY}"
    else:
        headline = f"{BAND_EMOJI[s.headline]} *{escape(pair.title)}*: *{band_word(s.headline)}*"
    detail = escape(flows_text(s))
    hidden = [f"{escape(x.team.name)} {x.note}" for x in (s.team_a, s.team_b) if x.note]
    if hidden:
        detail += "\n_" + "; ".join(hidden) + "_"
    blocks: list[Block] = [
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=f"{headline}\n{detail}")),
    ]
    if not s.not_enough_activity:
        blocks.append(SectionBlock(fields=_fields(s)))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=_steps(s))))
    return blocks


def _fallback_text(digest: Digest) -> str:
    """The notification text: plain words, but Slack still reads mentions in it."""
    parts = []
    for pair in digest.pairs:
        s = pair.summary
        if s.hidden:
            state = "hidden"
        else:
            state = NOT_ENOUGH_ACTIVITY if s.not_enough_activity else band_word(s.headline)
        parts.append(f"{pair.title}: {state}")
    return escape(
        f"Interdependence balance for {digest.partnership_name}, {digest.month.label}: "
        + ("; ".join(parts) if parts else "no pairs of teams yet")
    )


def digest_message(digest: Digest, *, with_chart: bool) -> dict[str, Any]:
    """The message leaders get: headline, metrics, trend and next steps for each pair."""
    room = (MAX_BLOCKS - _FRAME_BLOCKS - len(digest.sections)) // _BLOCKS_PER_PAIR
    shown, left_out = digest.pairs[:room], len(digest.pairs) - room
    blocks: list[Block] = [
        HeaderBlock(text=f"Interdependence balance · {digest.month.label}"[:150]),
        SectionBlock(
            text=MarkdownTextObject(
                text=(
                    f"*{escape(digest.partnership_name)}* "
                    f"({digest.interdependence.value} partnership). "
                    "Aggregates only: no one is named, and a pair with a small team is hidden."
                )
            )
        ),
    ]
    if digest.incomplete_note:
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=f":hourglass: {escape(digest.incomplete_note)}")]
            )
        )
    for pair in shown:
        blocks += _pair_blocks(pair)
    footer = [
        f"Months run midnight to midnight in {digest.timezone}.",
        KUDOS_NOTE,
        "The chart below shows both directions, this month and month by month."
        if with_chart
        else "",
        f"{left_out} more pairs are left out here: run `tandem digest`." if left_out > 0 else "",
        f"Band settings ignored ({escape(digest.settings_problem)}); defaults used."
        if digest.settings_problem
        else "",
    ]
    blocks += [Block.parse(section) for section in digest.sections]
    blocks += [
        ActionsBlock(
            elements=[ButtonElement(text=EXPLAIN_BUTTON_TEXT, action_id=EXPLAIN_ACTION_ID)]
        ),
        ContextBlock(elements=[MarkdownTextObject(text=" ".join(p for p in footer if p))]),
    ]
    return {"text": _fallback_text(digest), "blocks": [b.to_dict() for b in blocks]}


# --- the explanation modal ----------------------------------------------------------

DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Cross-team flows",
        "Something one team gave the other this month: help offered or given, a shadowing "
        "session hosted, a standup mention as a helper, or a thank-you. " + KUDOS_NOTE,
    ),
    (
        "Give share",
        "Of all cross-team flows between the two teams, the share each team gave. 50/50 is "
        "perfectly even.",
    ),
    (
        "Reciprocity",
        "The same balance as one number: 1.00 is 50/50, 0.80 is 60/40, 0 means only one team gave.",
    ),
    (
        "Reach (one per team)",
        "The share of a team's members with at least one tie across: two or more "
        "interactions with the same person in the other team this month.",
    ),
    (
        "Boundary openness",
        "Whether people deal with the other team as often as with their own: 0 means just "
        "as often, −0.3 about half as often, +1 only across, −1 never across.",
    ),
    (
        "Top-two share",
        "The share of cross-team flows that involve the two busiest people: high means the "
        "link rests on two people.",
    ),
    (
        "Spread of the work (Gini)",
        "How evenly cross-team work is spread over everyone: 0 means everyone takes part "
        "equally, near 1 means a few carry it all.",
    ),
    (
        "Blockers naming the other team",
        "Of the standup blockers written by either team, the share that name the other team.",
    ),
    (
        "Median wait for an ask",
        "For asks to the other team raised in the standup: the median time until someone "
        "there first offered help.",
    ),
    (
        "Asks unanswered",
        "The share of those asks nobody had offered to help with by the month's end.",
    ),
    (
        "Colours, arrows and hidden teams",
        "Green is healthy for your kind of partnership, amber is worth a look, red means act "
        "this month; the headline is the worst colour. A metric with too few events gets no "
        "colour. An arrow appears only for a clear change that the three-month trend "
        "confirms. A pair with a team under the minimum group size (5 by default) is hidden "
        "whole: no flows, metrics, trend or steps for it. No person is ever named.",
    ),
)


def explain_modal() -> dict[str, Any]:
    """Every number the digest shows, explained in the modal itself."""
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"*{title}*\n{body}"))
        for title, body in DEFINITIONS
    ]
    view = View(
        type="modal",
        callback_id=EXPLAIN_CALLBACK_ID,
        title="What the numbers mean",
        close="Close",
        blocks=blocks,
    )
    return view.to_dict()


# --- a member's own balance (/tandem balance) -----------------------------------------


def own_balance_reply(balances: list[OwnBalance]) -> dict[str, Any]:
    """Only the asking member's own counts; nobody else appears."""
    if not balances:
        text = "You're not in a team that takes part in a Tandem partnership yet."
        hint = "Ask a Tandem admin to add your team (`/tandem admin team add …`)."
        blocks: list[Block] = [
            SectionBlock(text=MarkdownTextObject(text=text)),
            ContextBlock(elements=[MarkdownTextObject(text=hint)]),
        ]
        return {"text": text, "blocks": [b.to_dict() for b in blocks]}
    blocks = [HeaderBlock(text="Your give and take this month")]
    for balance in balances:
        lines = [f"*{escape(balance.partnership)}*, {balance.month_label} so far"]
        other = escape(" and ".join(balance.other_teams) or "the other team")
        if balance.empty:
            lines.append(f"{NOT_ENOUGH_ACTIVITY.capitalize()}.")
        else:
            lines.append(f"You gave {other} {balance.gave}: {balance.given_text}")
            lines.append(f"{other} gave you {balance.took}: {balance.received_text}")
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(lines))))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=escape(balance.advice))]))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Only you can see this; leaders only ever see team totals. {KUDOS_NOTE}"
                )
            ]
        )
    )
    text = escape("; ".join(f"{b.partnership}: you gave {b.gave}, got {b.took}" for b in balances))
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}
