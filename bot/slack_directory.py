"""Reading people and groups from Slack, with cursor pagination.

users.list and usergroups.users.list are Tier 2 methods (about 20 calls a
minute): the client's rate-limit handler waits out each 429's Retry-After.
Pages are handed on as they arrive so a caller never holds the whole
workspace (`user_pages`).
"""

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


def user_pages(client: WebClient) -> Iterator[list[MemberProfile]]:
    """Everyone in the workspace, one users.list page at a time (PAGE people each).

    One walk instead of a users.info per person; only the current page is held.
    """
    cursor: str | None = None
    while True:
        response = (
            client.users_list(limit=PAGE, cursor=cursor)
            if cursor
            else client.users_list(limit=PAGE)
        )
        yield [profile_from_user(user) for user in response.get("members", [])]
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return
