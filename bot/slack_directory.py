"""Reading people and groups from Slack, with cursor pagination."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk import WebClient

from storage.org import MemberProfile

PAGE = 200


def _paged(call: Any, key: str, **params: Any) -> Iterator[Any]:
    cursor: str | None = None
    while True:
        response = (
            call(limit=PAGE, cursor=cursor, **params) if cursor else call(limit=PAGE, **params)
        )
        yield from response.get(key, [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return


def usergroup_user_ids(client: WebClient, usergroup_id: str) -> list[str]:
    response = client.usergroups_users_list(usergroup=usergroup_id)
    return list(response.get("users", []))


def channel_user_ids(client: WebClient, channel_id: str) -> list[str]:
    return list(_paged(client.conversations_members, "members", channel=channel_id))


def profile_from_user(user: dict[str, Any]) -> MemberProfile:
    profile = user.get("profile") or {}
    name = (
        profile.get("display_name")
        or profile.get("real_name")
        or user.get("real_name")
        or user.get("name", "")
    )
    return MemberProfile(
        slack_user_id=user["id"],
        display_name=str(name),
        tz=user.get("tz"),
        is_bot=bool(user.get("is_bot")) or user["id"] == "USLACKBOT",
        is_deleted=bool(user.get("deleted")),
        is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
        is_workspace_admin=bool(user.get("is_admin") or user.get("is_owner")),
    )


def all_profiles(client: WebClient) -> dict[str, MemberProfile]:
    """Everyone in the workspace, one users.list walk instead of a users.info per person."""
    return {u["id"]: profile_from_user(u) for u in _paged(client.users_list, "members")}
