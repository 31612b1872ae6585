"""Team sync: membership, names and time zones come from Slack, on demand and periodically.

A team is a user group or a channel of up to tens of thousands of people, in
a workspace that may be larger still. Sync holds only what the diff needs:
the Slack ids of each team's members (to know whom to keep), the member ids
kept so far, and one users.list page at a time. Each page's people are
written as they arrive (their profiles are a directory cache, safe to
refresh in pieces); the rosters change in one transaction at the end, so a
sync that fails half-way changes no team.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

from bot.clock import utcnow
from bot.services import Services
from bot.slack_directory import channel_user_ids, user_pages, usergroup_user_ids
from storage import jobs
from storage.db import transaction
from storage.member_data import forgotten_among
from storage.models import Team
from storage.org import MemberProfile, refresh_members, set_team_roster

log = logging.getLogger(__name__)

TEAM_SYNC = "team_sync"
# Where the outcome goes: the admin's App Home (its "Sync now" button) or a DM
# (the slash commands, whose ack has long gone by the time Slack is read).
TELL_HOME = "home"
TELL_DM = "dm"
TELL_NOBODY = "nobody"  # the periodic sync


def team_sync_job(
    workspace_id: int,
    actor: str,
    request_key: str,
    *,
    team: str | None = None,
    tell: str = TELL_HOME,
    added: bool = False,
) -> jobs.NewJob:
    """Re-read the teams (or the one named `team`) from Slack for `actor`, then tell them.

    `added`: the team was just created by `admin team add`, whose audit entry
    already says so; the outcome then reads "Added team …".
    """
    payload: dict[str, Any] = {"actor": actor, "tell": tell}
    if team is not None:
        payload["team"] = team
    if added:
        payload["added"] = True
    return jobs.NewJob(
        idempotency_key=f"{TEAM_SYNC}:{workspace_id}:{request_key}",
        kind=TEAM_SYNC,
        payload=payload,
        workspace_id=workspace_id,
    )


def scheduled_sync_job(workspace_id: int, slot: int) -> jobs.NewJob:
    """The periodic sync of every team: one job per workspace and interval slot."""
    return jobs.NewJob(
        idempotency_key=f"{TEAM_SYNC}:{workspace_id}:every:{slot}",
        kind=TEAM_SYNC,
        payload={"actor": "", "tell": TELL_NOBODY},
        workspace_id=workspace_id,
    )


@dataclass(frozen=True, slots=True)
class SyncResult:
    team: str
    members: int
    added: int
    removed: int
    excluded: int


@dataclass(frozen=True, slots=True)
class _Team:
    id: int
    name: str
    kind: str
    source_id: str


def eligible(profile: MemberProfile, include_guests: bool) -> bool:
    """Bots, deactivated people and (unless configured) guests never join rituals."""
    if profile.is_bot or profile.is_deleted:
        return False
    return include_guests or not profile.is_guest


def _find_teams(services: Services, workspace_id: int, only: str | None = None) -> list[_Team]:
    with services.sessions() as session:
        query = session.query(Team).filter(Team.workspace_id == workspace_id).order_by(Team.id)
        return [
            _Team(t.id, t.name, t.source_kind, t.source_id)
            for t in query
            if only is None or t.name.lower() == only.lower()
        ]


def sync_teams(
    services: Services,
    client: WebClient,
    workspace_id: int,
    only: str | None = None,
    *,
    on_page: Callable[[], None] | None = None,
) -> list[SyncResult]:
    """Re-read the teams (all, or the one named `only`) from Slack; safe to repeat.

    `on_page` is called after each users.list page is written (progress). People
    who asked to be forgotten are skipped.
    """
    teams = _find_teams(services, workspace_id, only)
    if not teams:
        return []
    # Slack id -> the teams (bit i for teams[i]) whose source lists them.
    wanted: dict[str, int] = {}
    listed = []
    for i, team in enumerate(teams):
        ids = (
            usergroup_user_ids(client, team.source_id)
            if team.kind == "usergroup"
            else channel_user_ids(client, team.source_id)
        )
        for slack_id in ids:
            wanted[slack_id] = wanted.get(slack_id, 0) | (1 << i)
        listed.append(len(set(ids)))
        del ids
    keep: list[set[int]] = [set() for _ in teams]
    include_guests = services.settings.include_guests
    now = utcnow()
    for page in user_pages(client):
        chosen = [p for p in page if p.slack_user_id in wanted]
        if chosen:
            with transaction(services.sessions) as session:
                skipped = forgotten_among(session, workspace_id, [p.slack_user_id for p in chosen])
                chosen = [p for p in chosen if p.slack_user_id not in skipped]
                member_ids = refresh_members(session, workspace_id, chosen, now)
            for profile in chosen:
                teams_of = wanted.pop(profile.slack_user_id, 0)
                if eligible(profile, include_guests):
                    member_id = member_ids[profile.slack_user_id]
                    for i, kept in enumerate(keep):
                        if teams_of >> i & 1:
                            kept.add(member_id)
        if on_page is not None:
            on_page()
    del wanted  # what is left: ids users.list did not show (none in a consistent workspace)
    results = []
    with transaction(services.sessions) as session:
        for i, team in enumerate(teams):
            added, removed = set_team_roster(session, team.id, keep[i], now)
            results.append(
                SyncResult(team.name, len(keep[i]), added, removed, listed[i] - len(keep[i]))
            )
    for result in results:
        log.info(
            "synced team %s: %d members (+%d -%d)",
            result.team,
            result.members,
            result.added,
            result.removed,
        )
    return results
