"""What members decide for themselves: `/tandem away|back|optout|optin`.

Time away covers every ritual; opting out covers one. Both are read by each
ritual's builder when it decides who to prompt (standups: rituals.standup.
should_prompt), and prompts already queued for the days concerned are
withdrawn at once. Opt-outs are stored as ritual kinds: `kudos` is the
kudos prompt (RitualKind.KUDOS_PROMPT); kudos given to someone are never
refused because of it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.clock import utcnow
from bot.commands import CommandRequest, Reply
from bot.services import Services
from bot.standup import withdraw_prompts, zone_of
from bot.views.common import notice
from rituals.interactions import RitualKind
from rituals.slack_text import echo
from storage import member_settings, org
from storage.db import transaction

OPT_KINDS: dict[str, RitualKind] = {
    "standup": RitualKind.STANDUP,
    "shadowing": RitualKind.SHADOWING,
    "kudos": RitualKind.KUDOS_PROMPT,
    "pulse": RitualKind.PULSE,
}
MAX_AWAY = timedelta(days=366)
# How far ahead queued standup prompts are withdrawn on opting out.
_WITHDRAW_AHEAD = timedelta(days=31)
UNKNOWN_MEMBER = (
    "I don't know you yet: you're not in any team Tandem runs rituals for. "
    "An admin adds teams with `/tandem admin team add`."
)


def _parse_until(text: str) -> date | str:
    """The last day away from "until YYYY-MM-DD" (or just the date), else a message."""
    words = text.split()
    if words and words[0].lower() == "until":
        words = words[1:]
    if not words:
        return "Usage: `/tandem away until 2026-08-14` (your last day away)."
    raw = " ".join(words)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return f"`{echo(raw)}` is not a date; write it as YYYY-MM-DD, e.g. `/tandem away until 2026-08-14`."


class MemberCommands:
    def __init__(self, services: Services) -> None:
        self.services = services

    def _today(self, tz: str | None, now: datetime) -> date:
        """The date in the member's own zone (the default zone when theirs is unusable)."""
        zone, _ = zone_of(tz, self.services.settings.default_timezone)
        return now.astimezone(zone).date()

    def away(self, req: CommandRequest) -> Reply:
        until = _parse_until(req.text)
        if isinstance(until, str):
            return notice(until)
        now = utcnow()
        with transaction(self.services.sessions) as session:
            member = org.find_member(session, req.workspace_id, req.user_id)
            if member is None:
                return notice(UNKNOWN_MEMBER)
            today = self._today(member.tz, now)
            if until < today:
                return notice(f"{until:%a %d %b %Y} has already passed; give your last day away.")
            if until - today > MAX_AWAY:
                return notice("Time away can be set at most a year ahead.")
            member_settings.set_away(session, member.id, until, now)
            withdraw_prompts(session, member.id, member.slack_user_id, today, until)
        return notice(
            f"You're away until {until:%a %d %b %Y} (inclusive): no standup, shadowing or "
            "kudos prompts until then.",
            hint="`/tandem back` ends it early.",
        )

    def back(self, req: CommandRequest) -> Reply:
        now = utcnow()
        with transaction(self.services.sessions) as session:
            member = org.find_member(session, req.workspace_id, req.user_id)
            if member is None:
                return notice(UNKNOWN_MEMBER)
            today = self._today(member.tz, now)
            if member.away_until is None or member.away_until < today:
                if member.away_until is not None:
                    member_settings.set_away(session, member.id, None, now)
                return notice("You weren't away, so nothing changed.")
            member_settings.set_away(session, member.id, None, now)
        return notice("Welcome back! Your rituals resume from the next prompt.")

    def optout(self, req: CommandRequest) -> Reply:
        return self._opt(req, opted_out=True)

    def optin(self, req: CommandRequest) -> Reply:
        return self._opt(req, opted_out=False)

    def _opt(self, req: CommandRequest, *, opted_out: bool) -> Reply:
        verb = "optout" if opted_out else "optin"
        name = req.text.strip().lower()
        kind = OPT_KINDS.get(name)
        if kind is None:
            return notice(
                f"Which ritual? `/tandem {verb} standup`, `shadowing` or `kudos`."
                + (f" (`{echo(name)}` is not one of them.)" if name else "")
            )
        now = utcnow()
        with transaction(self.services.sessions) as session:
            member = org.find_member(session, req.workspace_id, req.user_id)
            if member is None:
                return notice(UNKNOWN_MEMBER)
            changed = member_settings.set_opted_out(session, member.id, kind.value, opted_out, now)
            if changed and opted_out and kind is RitualKind.STANDUP:
                today = self._today(member.tz, now)
                withdraw_prompts(
                    session, member.id, member.slack_user_id, today, today + _WITHDRAW_AHEAD
                )
        if not changed:
            state = "out of" if opted_out else "in"
            return notice(f"You're already {state} {name}; nothing changed.")
        if opted_out:
            return notice(
                f"You're out of {name}: no more {name} prompts for you.",
                hint=f"`/tandem optin {name}` brings them back.",
            )
        return notice(f"You're back in {name}, from the next prompt on.")
