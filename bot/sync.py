"""Team sync: membership, names and time zones come from Slack, on demand and periodically."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.clock import utcnow
from bot.services import Services
from bot.slack_directory import all_profiles, channel_user_ids, usergroup_user_ids
from storage.db import transaction
from storage.models import Team
from storage.org import MemberProfile, set_team_roster, upsert_members

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncResult:
    team: str
    members: int
    added: int
    removed: int
    excluded: int


def eligible(profile: MemberProfile, include_guests: bool) -> bool:
    """Bots, deactivated people and (unless configured) guests never join rituals."""
    if profile.is_bot or profile.is_deleted:
        return False
    return include_guests or not profile.is_guest


def sync_teams(
    services: Services, client: WebClient, workspace_id: int, only: str | None = None
) -> list[SyncResult]:
    with services.sessions() as session:
        query = session.query(Team).filter(Team.workspace_id == workspace_id)
        teams = [
            (t.id, t.name, t.source_kind, t.source_id)
            for t in query
            if only is None or t.name.lower() == only.lower()
        ]
    if not teams:
        return []
    profiles = all_profiles(client)
    results = []
    for team_id, name, kind, source_id in teams:
        ids = (
            usergroup_user_ids(client, source_id)
            if kind == "usergroup"
            else channel_user_ids(client, source_id)
        )
        seen = [profiles[i] for i in ids if i in profiles]
        keep = [p for p in seen if eligible(p, services.settings.include_guests)]
        now = utcnow()
        with transaction(services.sessions) as session:
            member_ids = upsert_members(session, workspace_id, seen, now)
            added, removed = set_team_roster(
                session, team_id, {member_ids[p.slack_user_id] for p in keep}, now
            )
        results.append(SyncResult(name, len(keep), added, removed, len(ids) - len(keep)))
        log.info("synced team %s: %d members (+%d -%d)", name, len(keep), added, removed)
    return results
