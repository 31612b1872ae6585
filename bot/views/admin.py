"""Replies to admin setup commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.sync import SyncResult
from rituals.commands import ADMIN_USAGE
from rituals.slack_text import channel_mention, escape, user_mention
from storage.org import PartnershipSummary, TeamSummary
from storage.outbox import OutboxRow


def _message(text: str, blocks: Sequence[Any]) -> dict[str, Any]:
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


def admin_help() -> dict[str, Any]:
    lines = "\n".join(f"`{usage}`\n{summary}" for usage, summary in ADMIN_USAGE)
    return _message(
        "Tandem admin commands",
        [HeaderBlock(text="Tandem admin"), SectionBlock(text=MarkdownTextObject(text=lines))],
    )


def _source(kind: str, slack_id: str) -> str:
    return f"<!subteam^{slack_id}>" if kind == "usergroup" else f"<#{slack_id}>"


def team_list(teams: Sequence[TeamSummary]) -> dict[str, Any]:
    if not teams:
        return _message(
            "No teams yet.",
            [
                SectionBlock(text=MarkdownTextObject(text="No teams yet.")),
                ContextBlock(
                    elements=[
                        MarkdownTextObject(
                            text="Start with `/tandem admin team add Marketing @marketing` "
                            "and `/tandem admin team add IT #it-team`."
                        )
                    ]
                ),
            ],
        )
    lines = []
    for t in teams:
        synced = (
            f"<!date^{int(t.last_synced_at.timestamp())}^synced {{date_short_pretty}} {{time}}|synced>"
            if t.last_synced_at
            else "never synced"
        )
        lines.append(
            f"*{escape(t.name)}* · {_source(t.source_kind, t.source_id)} · {t.member_count} members · {synced}"
        )
    return _message(
        f"{len(teams)} teams", [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))]
    )


def partnership_list(partnerships: Sequence[PartnershipSummary]) -> dict[str, Any]:
    if not partnerships:
        return _message(
            "No partnerships yet.",
            [
                SectionBlock(text=MarkdownTextObject(text="No partnerships yet.")),
                ContextBlock(
                    elements=[
                        MarkdownTextObject(
                            text="`/tandem admin partnership add Marketing IT channel=#mkt-it "
                            "leaders=@ana,@raj type=reciprocal`"
                        )
                    ]
                ),
            ],
        )
    lines = [
        f"*{escape(p.name)}* · {escape(' + '.join(p.team_names))} · {channel_mention(p.channel_id)}"
        f" · {p.interdependence_type} · leaders {', '.join(user_mention(u) for u in p.leader_ids)}"
        for p in partnerships
    ]
    return _message(
        f"{len(partnerships)} partnerships",
        [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))],
    )


def sync_report(results: Sequence[SyncResult]) -> dict[str, Any]:
    lines = [
        f"*{escape(r.team)}*: {r.members} members (+{r.added} / -{r.removed}"
        + (f", {r.excluded} bots, guests or deactivated left out" if r.excluded else "")
        + ")"
        for r in results
    ]
    return _message("Teams synced", [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))])


def outbox_status(counts: dict[str, int], oldest_dead: Sequence[OutboxRow]) -> dict[str, Any]:
    """Outbox health for admins: what waits, what retries, and why the oldest dead rows died."""
    pending, retrying, dead = counts["pending"], counts["retrying"], counts["dead"]
    summary = f"Outbox: {pending} pending · {retrying} retrying · {dead} dead"
    blocks: list[Any] = [
        HeaderBlock(text="Tandem status"),
        SectionBlock(text=MarkdownTextObject(text=f"*{summary}*")),
    ]
    if oldest_dead:
        lines = [
            f"`#{row.id}` {row.method} to {_where(row.channel_key)} · "
            f"{row.attempts} attempt{'s' if row.attempts != 1 else ''}\n"
            f"> {escape(row.last_error or 'no error recorded')}"
            for row in oldest_dead
        ]
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text="*Oldest dead messages*\n" + "\n".join(lines))
            )
        )
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="Fix the cause (e.g. invite me to the channel), then run "
                        "`tandem outbox retry ID` on the server to send one again."
                    )
                ]
            )
        )
    return _message(summary, blocks)


def _where(channel_key: str) -> str:
    if channel_key.startswith(("C", "G")):
        return f"<#{channel_key}>"
    if channel_key.startswith(("U", "W")):
        return f"<@{channel_key}>"
    return f"`{channel_key or '-'}`"
