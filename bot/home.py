"""App Home: what one person sees (their rituals, their month, admins' ritual overview), and publishing it.

The Home is rebuilt from the database each time and queued as a
`views.publish` outbox row (it is not the direct answer to a request), in
one transaction that first locks the person's `home_view` row:
- the idempotency key is person + revision + content hash, so a Home that
  did not change is not queued again, and a newer Home never collides with
  an older one (even one with the same content, published before a change
  in between);
- an older Home still waiting in the outbox is cancelled when a newer one
  is queued, so the last state wins.

When it is refreshed: whenever the person opens the Home tab
(`app_home_opened`); after they change their opt-ins or time away from the
Home tab; and, for an admin, after each ritual action they take from the
Home tab (with a line saying what happened). Changes made elsewhere (slash
commands, another admin's edits, a new round) show the next time the tab is
opened: refreshing thousands of Homes on every admin edit would flood the
outbox for screens nobody is looking at.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.digest import Month, balance_timezone
from bot.kpi.home import may_define, member_kpi_text
from bot.member_balance import OwnBalance
from bot.pulse.home import member_pulse_text
from bot.ritual_changes import next_fire, schedule_words
from bot.services import Services
from bot.shadowing import next_round_at
from bot.standup import config_of, within_prompt_hours, zone_of
from bot.views.home import AdminHome, MemberHome, PartnershipSection, RitualRow, StandupLine
from bot.views.home import home_view as render
from bot.views.shadowing import PairStatus
from rituals.interactions import RitualKind
from rituals.periods import month_around
from rituals.schedule import next_fire_times
from rituals.standup import StandupSettingsError, should_prompt
from storage import holidays, home, outbox
from storage import rituals as ritual_store
from storage import shadowing as shadow_store
from storage import standups as standup_store
from storage.balance import own_flows
from storage.db import transaction
from storage.kudos import month_stats
from storage.org import partnerships_of_teams, team_names
from storage.outbox import OutboundCall
from storage.rituals import RitualSnapshot

PUBLISH = home.HOME_METHOD
# How many of a standup's next firings are searched for the member's next prompt (three weeks of weekdays).
_PROMPT_SEARCH = 21


def home_key(workspace_id: int, user_id: str, revision: int, digest: str) -> str:
    return f"home:{workspace_id}:{user_id}:r{revision}:{digest[:16]}"


def content_hash(view: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Published:
    revision: int
    key: str | None  # None: the Home had not changed, nothing was queued
    view: dict[str, Any]


def publish_home(
    services: Services,
    workspace_id: int,
    user_id: str,
    *,
    is_admin: bool,
    now: datetime,
    notice: str | None = None,
) -> Published:
    """Build the person's Home and queue it, unless it is the same as the last one queued."""
    with transaction(services.sessions) as session:
        last = home.lock_home(session, workspace_id, user_id, now)
        view = build_view(session, services, workspace_id, user_id, is_admin, now, notice)
        digest = content_hash(view)
        if digest == last.content_hash:
            return Published(last.revision, None, view)
        revision = last.revision + 1
        if last.revision:
            outbox.cancel(
                session,
                [home_key(workspace_id, user_id, last.revision, last.content_hash)],
                "superseded by a newer Home",
            )
        key = home_key(workspace_id, user_id, revision, digest)
        call = OutboundCall(
            key, PUBLISH, {"user_id": user_id, "view": view}, channel_key=f"home:{user_id}"
        )
        outbox.enqueue(session, call, now, workspace_id)
        home.record_home(session, workspace_id, user_id, revision, digest, now)
        return Published(revision, key, view)


def build_view(
    session: Session,
    services: Services,
    workspace_id: int,
    user_id: str,
    is_admin: bool,
    now: datetime,
    notice: str | None = None,
) -> dict[str, Any]:
    member = load_member_home(session, services, workspace_id, user_id, now)
    if member is not None and (is_admin or may_define(session, workspace_id, user_id)):
        member = replace(member, kpi_form=True)
    default_tz = services.settings.default_timezone
    admin = load_admin_home(session, workspace_id, now, default_tz) if is_admin else None
    # Before any setup, a member learns who can set Tandem up and what it will do.
    admins = (
        None
        if home.has_partnership(session, workspace_id)
        else tuple(sorted(services.settings.admin_user_ids))
    )
    return render(member, admin, notice, before_setup=admins)


# --- the member's part ----------------------------------------------------------


def load_member_home(
    session: Session, services: Services, workspace_id: int, user_id: str, now: datetime
) -> MemberHome | None:
    """Everything the member's own part shows; None for someone in no team Tandem knows."""
    facts = home.member_facts(session, workspace_id, user_id)
    if facts is None:
        return None
    default_tz = services.settings.default_timezone
    zone, _ = zone_of(facts.tz, default_tz)
    today = now.astimezone(zone).date()
    start, end = month_around(now, zone)
    away = facts.away_until if facts.away_until is not None and facts.away_until >= today else None
    return MemberHome(
        user_id=user_id,
        zone=str(zone.key),
        today=today,
        standups=tuple(_standups(session, facts, zone, today, away, now)),
        shadowing=tuple(_shadowing(session, facts.member_id, user_id, now)),
        month_label=f"{start.astimezone(zone):%B %Y}",
        kudos=month_stats(session, facts.member_id, start, end),
        balances=tuple(_balances(session, workspace_id, facts, now)),
        opted_out=frozenset(facts.opted_out),
        away_until=away,
        in_team=bool(facts.team_ids),
        kpis=member_kpi_text(session, facts.member_id, today),
        pulse=member_pulse_text(session, workspace_id, user_id, facts.team_ids),
    )


def _standups(
    session: Session,
    facts: home.MemberFacts,
    zone: ZoneInfo,
    today: date,
    away: date | None,
    now: datetime,
) -> list[StandupLine]:
    ritual_ids = standup_store.standup_rituals_of(session, facts.member_id)
    if not ritual_ids:
        return []
    team_days = frozenset(day for _, day in holidays.listed(session, facts.team_ids, since=today))
    rituals = [r for r in (ritual_store.get(session, i) for i in ritual_ids) if r is not None]
    names = home.partnership_names(session, [r.partnership_id for r in rituals])
    lines: list[StandupLine] = []
    for ritual in rituals:
        name = names.get(ritual.partnership_id, "")
        if ritual.paused:
            lines.append(StandupLine(name, None, "It is paused by an admin."))
            continue
        if RitualKind.STANDUP.value in facts.opted_out:
            lines.append(StandupLine(name, None, "You opted out; tick Standups below to rejoin."))
            continue
        try:
            settings = config_of(ritual.settings).settings
        except StandupSettingsError:
            lines.append(StandupLine(name, None, "Its settings need an admin's attention."))
            continue
        rule_zone = zone if ritual.is_member_local else ZoneInfo(ritual.timezone)
        found: datetime | None = None
        for moment in next_fire_times(ritual.schedule, now, _PROMPT_SEARCH, tz=str(rule_zone.key)):
            local_day = moment.astimezone(rule_zone).date()
            if should_prompt(local_day, settings, away, team_days, False) is None and (
                within_prompt_hours(moment, rule_zone)
            ):
                found = moment
                break
        note = f"You're away until {away:%a %d %b}." if away is not None else ""
        lines.append(StandupLine(name, found, note))
    return lines


def _balances(
    session: Session, workspace_id: int, facts: home.MemberFacts, now: datetime
) -> list[OwnBalance]:
    """The member's give and take this month in each partnership of their teams.

    What `/tandem balance` shows (`bot.member_balance.OwnBalance`), read with
    the member's teams already known.
    """
    found: list[OwnBalance] = []
    mine = set(facts.team_ids)
    for partnership in partnerships_of_teams(session, workspace_id, facts.team_ids):
        team_ids = [pt.team_id for pt in partnership.teams]
        names = team_names(session, team_ids)
        tz = balance_timezone(partnership)
        month = Month.containing(now, tz)
        start, end = month.bounds(tz)
        flows = own_flows(session, partnership.id, facts.member_id, team_ids, start, end)
        others = tuple(names[t] for t in team_ids if t not in mine and t in names)
        found.append(OwnBalance(partnership.name, others, month.label, flows))
    return found


def _shadowing(session: Session, member_id: int, user_id: str, now: datetime) -> list[PairStatus]:
    entries: list[PairStatus] = []
    for found in shadow_store.member_rounds(session, member_id):
        ritual = ritual_store.get(session, found.ritual_id)
        next_at = None if ritual is None or ritual.paused else next_round_at(ritual, now)
        pairing = found.pairing
        me = pairing.participant(user_id) if pairing else None
        entries.append(
            PairStatus(
                partnership=found.partnership_name,
                round_no=found.round_no,
                round_date=found.round_date,
                role=me.role if me else None,
                partner_ids=tuple(u for u in pairing.slack_user_ids if u != user_id)
                if pairing
                else (),
                status=pairing.status if pairing else None,
                met_at=pairing.met_at if pairing else None,
                unpaired_reason=found.unpaired_reason,
                next_at=next_at,
            )
        )
    return entries


# --- the admin's part -------------------------------------------------------------


def load_admin_home(
    session: Session, workspace_id: int, now: datetime, default_tz: str
) -> AdminHome:
    sections: list[PartnershipSection] = []
    for line in home.partnership_lines(session, workspace_id):
        rituals = ritual_store.list_for_partnership(session, line.id)
        sections.append(
            PartnershipSection(line, tuple(_ritual_row(r, now, default_tz) for r in rituals))
        )
    return AdminHome(
        partnerships=tuple(sections),
        outbox=home.outbox_counts(session, workspace_id),
        default_tz=default_tz,
    )


def _ritual_row(ritual: RitualSnapshot, now: datetime, default_tz: str) -> RitualRow:
    next_at = None if ritual.paused else next_fire(ritual, now, default_tz)
    return RitualRow(ritual, schedule_words(ritual), next_at)
