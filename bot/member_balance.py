"""`/tandem balance`: a member's own give and take this month, privately, and what would even it.

A member sees their own counts only, per partnership their team takes part
in, for the calendar month so far in that partnership's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.commands import CommandRequest
from bot.digest import Month, balance_timezone
from bot.views.digest import own_balance_reply
from rituals.balance import NOT_ENOUGH_ACTIVITY
from rituals.interactions import InteractionKind
from storage.balance import OwnFlows, own_flows
from storage.org import current_team_ids, find_member, partnerships_of_teams, team_names

K = InteractionKind
# What a flow is called from the member's side: as the one who gave, as the one who got it.
# A thank-you counts as given by whoever was thanked: they gave what was thanked for.
_GAVE_WORDS: dict[str, str] = {
    K.HELP_GIVEN: "help given",
    K.HELP_OFFERED: "help offered",
    K.SHADOWING: "shadowing hosted",
    K.KUDOS: "thanks you received for your help",
    K.KUDOS_SECOND: "+1s on thanks for your help",
    K.MENTION: "named as a helper in a standup",
}
_TOOK_WORDS: dict[str, str] = {
    K.HELP_GIVEN: "help received",
    K.HELP_OFFERED: "offers of help",
    K.SHADOWING: "shadowing visits",
    K.KUDOS: "thanks you gave for their help",
    K.KUDOS_SECOND: "+1s you added to thanks",
    K.MENTION: "helpers you named in a standup",
}


def _listing(counts: dict[str, int], words: dict[str, str]) -> str:
    if not counts:
        return "nothing yet"
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{n}× {words.get(kind, kind)}" for kind, n in ordered)


@dataclass(frozen=True, slots=True)
class OwnBalance:
    partnership: str
    other_teams: tuple[str, ...]
    month_label: str
    flows: OwnFlows

    @property
    def gave(self) -> int:
        return self.flows.gave

    @property
    def took(self) -> int:
        return self.flows.took

    @property
    def empty(self) -> bool:
        return self.gave == 0 and self.took == 0

    @property
    def given_text(self) -> str:
        return _listing(self.flows.given, _GAVE_WORDS)

    @property
    def received_text(self) -> str:
        return _listing(self.flows.received, _TOOK_WORDS)

    @property
    def advice(self) -> str:
        other = " and ".join(self.other_teams) or "the other team"
        if self.empty:
            return (
                f"{NOT_ENOUGH_ACTIVITY.capitalize()}. A first step: thank someone in {other} "
                "with `/tandem kudos @someone for …`, or add an ask for them in the joint standup."
            )
        difference = self.took - self.gave
        if difference > 0:
            return (
                f"{other} gave you {difference} more than you gave them. To balance it: offer "
                f"help on an ask from {other} in the joint standup, or host a shadowing session."
            )
        if difference < 0:
            return (
                f"You gave {other} {-difference} more than they gave you. To balance it: ask "
                f"{other} for help in the joint standup, or shadow someone there. Asking is "
                "part of it."
            )
        return f"Even: you gave {other} as much as they gave you. Keep it up."


def own_balances(
    session: Session, workspace_id: int, slack_user_id: str, now: datetime
) -> list[OwnBalance]:
    """The member's balance in every partnership one of their current teams is part of."""
    member = find_member(session, workspace_id, slack_user_id)
    if member is None:
        return []
    my_teams = current_team_ids(session, member.id)
    partnerships = partnerships_of_teams(session, workspace_id, tuple(sorted(my_teams)))
    balances: list[OwnBalance] = []
    for partnership in partnerships:
        team_ids = [pt.team_id for pt in partnership.teams]
        names = team_names(session, team_ids)
        tz = balance_timezone(partnership)
        month = Month.containing(now, tz)
        start, end = month.bounds(tz)
        flows = own_flows(session, partnership.id, member.id, team_ids, start, end)
        others = tuple(names[t] for t in team_ids if t not in my_teams and t in names)
        balances.append(OwnBalance(partnership.name, others, month.label, flows))
    return balances


class BalanceCommand:
    """The `/tandem balance` handler: an ephemeral reply with the member's own numbers."""

    def __call__(self, request: CommandRequest) -> dict[str, Any]:
        services = request.services
        with services.sessions() as session:
            balances = own_balances(session, request.workspace_id, request.user_id, utcnow())
        return own_balance_reply(balances)
