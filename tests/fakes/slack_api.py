"""A fake Slack Web API on loopback, so end-to-end tests never need slack.com.

Point the app's `SLACK_API_URL` (or a `WebClient`'s `base_url`) at `FakeSlack.url`.
The fake answers the methods Tandem uses with payloads shaped like Slack's, keeps
the messages it was sent so `conversations.history` can show them, records every
call, and can misbehave on demand (429, 5xx, `ok: false`, dropped connections,
per-channel rate limits) so retries and idempotency can be tested for real.

What slack-sdk 3.47 sends: every method is a POST to `base_url + method`. Methods
that take `json=` (chat.postMessage, chat.update, views.*) send a JSON body;
the others send a form-encoded body (lists and objects as JSON strings, booleans
as "1"/"0"). The token travels in `Authorization: Bearer`. `Call.params` keeps
values as they arrived; `Call.json_param(name)` decodes either encoding.

Retries: a default `WebClient` carries a ConnectionErrorRetryHandler, which
silently re-sends a request whose connection dropped (URLError, ConnectionResetError,
RemoteDisconnected). Build clients with `retry_handlers=[]` to see raw errors.
A dropped connection surfaces as `http.client.RemoteDisconnected` (a subclass of
ConnectionResetError), raised straight through urllib and slack-sdk. If the drop
happened after the call was applied (`drop_next(..., after_processing=True)`),
the default retry handler posts the message a second time.

`Call.at` and the rate limiter use `time.monotonic()`; message timestamps follow
the wall clock (`clock`, default `time.time`), strictly increasing.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import mimetypes
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

TEAM_ID = "T0001"
TEAM_NAME = "Tandem Test"
TEAM_DOMAIN = "tandem-test"
BOT_USER_ID = "UBOT"
BOT_ID = "B0001"
APP_ID = "A0001"
DEFAULT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
# Methods that take the app-level token (xapp-) instead of the bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})

JsonDict = dict[str, Any]
T = TypeVar("T")


# --------------------------------------------------------------------------- records


def _decode_json(value: Any) -> Any:
    """Form bodies carry objects as JSON strings; JSON bodies carry them as is."""
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Call:
    """One request the fake received, with what it answered."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]  # keys lower-cased
    at: float  # time.monotonic() on arrival
    path: str = ""
    status: int = 200
    reply: JsonDict | None = None  # the JSON answer; after a processed drop, the one lost
    dropped: bool = False

    def json_param(self, name: str) -> Any:
        """The parameter decoded from JSON when it was sent as a string."""
        return _decode_json(self.params.get(name))

    @property
    def ok(self) -> bool:
        return not self.dropped and self.status == 200 and bool((self.reply or {}).get("ok"))


@dataclass
class Stats:
    """Counters for benchmarks: what the fake answered, by outcome."""

    posts_ok: int = 0  # chat.postMessage answered ok
    ratelimited: int = 0  # HTTP 429 answers
    errors: int = 0  # ok:false and 5xx answers (other than 429)
    dropped: int = 0  # connections closed without an answer


# --------------------------------------------------------------------------- params


class _Fail(Exception):
    """A Slack error answer: HTTP 200 with ok:false."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class _Params:
    """Typed reads of request parameters, whichever encoding they came in."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def text(self, name: str, default: str = "") -> str:
        value = self._values.get(name)
        return default if value is None else str(value)

    def required(self, name: str, error: str = "invalid_arguments") -> str:
        value = self.text(name)
        if not value:
            raise _Fail(error)
        return value

    def flag(self, name: str) -> bool:
        return self._values.get(name) in (True, 1, "1", "true", "True")

    def number(self, name: str, default: int) -> int:
        value = self._values.get(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _Fail("invalid_arguments") from None

    def decoded(self, name: str) -> Any:
        try:
            return _decode_json(self._values.get(name))
        except json.JSONDecodeError:
            raise _Fail("invalid_arguments") from None

    def ids(self, name: str) -> list[str]:
        value = self._values.get(name)
        if isinstance(value, list):
            return [str(item) for item in value]
        return [part.strip() for part in self.text(name).split(",") if part.strip()]


def _parse_params(query: str, content_type: str, raw: bytes) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if not raw:
        return params
    if "application/json" in content_type:
        body = json.loads(raw)
        if isinstance(body, dict):
            params.update(body)
    elif "application/x-www-form-urlencoded" in content_type:
        params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    return params


# --------------------------------------------------------------------------- workspace


@dataclass
class _Channel:
    id: str
    name: str
    members: list[str]
    is_member: bool = True
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    created: int = 1_600_000_000
    messages: list[JsonDict] = field(default_factory=list)  # oldest first


@dataclass
class _File:
    id: str
    name: str
    length: int
    data: bytes | None = None


def _ts_key(ts: str) -> Decimal:
    try:
        return Decimal(ts)
    except InvalidOperation:
        raise _Fail("invalid_ts_latest") from None


class _Workspace:
    """The fake's Slack-side state. Callers hold the FakeSlack lock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.root_url = ""
        self.users: dict[str, JsonDict] = {}
        self.usergroups: dict[str, JsonDict] = {}
        self.channels: dict[str, _Channel] = {}
        self.views: dict[str, JsonDict] = {}
        self.home_views: dict[str, str] = {}  # user id -> view id
        self.files: dict[str, _File] = {}
        self.posted: list[tuple[str, str, str | None]] = []  # (channel, text, idempotency key)
        # What apps.connections.open hands out; tests point it at their WebSocket server.
        self.socket_mode_url = "ws://127.0.0.1:9/link/?ticket=fake"
        self._last_ts = 0
        self._serial = 0

    def next_ts(self) -> str:
        micros = max(self._last_ts + 1, int(self.clock() * 1_000_000))
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def next_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:08d}"

    def channel(self, channel_id: str) -> _Channel:
        if channel_id.startswith(("U", "W")):
            return self.open_conversation([channel_id])
        found = self.channels.get(channel_id)
        if found is None:
            raise _Fail("channel_not_found")
        return found

    def channel_for_bot(self, channel_id: str) -> _Channel:
        found = self.channel(channel_id)
        if not found.is_member:
            raise _Fail("not_in_channel")
        return found

    def open_conversation(self, user_ids: Sequence[str]) -> _Channel:
        people = sorted(set(user_ids) - {BOT_USER_ID})
        if not people:
            raise _Fail("users_list_not_supplied")
        digest = hashlib.sha1(",".join(people).encode()).hexdigest()[:10].upper()
        channel_id = ("D" if len(people) == 1 else "G") + digest
        if channel_id not in self.channels:
            self.channels[channel_id] = _Channel(
                id=channel_id,
                name=channel_id.lower() if len(people) > 1 else people[0],
                members=[*people, BOT_USER_ID],
                is_private=True,
                is_im=len(people) == 1,
                is_mpim=len(people) > 1,
                created=int(self.clock()),
            )
        return self.channels[channel_id]

    def message(self, channel: _Channel, ts: str) -> JsonDict:
        for message in channel.messages:
            if message["ts"] == ts:
                return message
        raise _Fail("message_not_found")

    def permalink(self, channel_id: str, ts: str) -> str:
        return f"https://{TEAM_DOMAIN}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"


# --------------------------------------------------------------------------- payloads


def _user_payload(user: JsonDict) -> JsonDict:
    zone = ZoneInfo(user["tz"])
    now = datetime.now(zone)
    offset = now.utcoffset()
    return {
        **user,
        "tz_label": now.tzname(),
        "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
    }


def _channel_payload(channel: _Channel) -> JsonDict:
    if channel.is_im:
        user = next(member for member in channel.members if member != BOT_USER_ID)
        return {
            "id": channel.id,
            "created": channel.created,
            "is_im": True,
            "is_org_shared": False,
            "user": user,
            "is_user_deleted": False,
            "priority": 0,
        }
    return {
        "id": channel.id,
        "name": channel.name,
        "name_normalized": channel.name,
        "is_channel": not channel.is_mpim,
        "is_group": False,
        "is_im": False,
        "is_mpim": channel.is_mpim,
        "is_private": channel.is_private,
        "is_archived": False,
        "is_general": False,
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "is_member": channel.is_member,
        "created": channel.created,
        "creator": "U0000",
        "num_members": len(channel.members),
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
    }


def _bot_message(text: str, ts: str) -> JsonDict:
    return {
        "type": "message",
        "subtype": "bot_message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "text": text,
        "ts": ts,
    }


def _message_content(p: _Params) -> JsonDict:
    """The parts of a chat.* request that end up in the message."""
    content: JsonDict = {}
    for name in ("blocks", "attachments", "metadata"):
        value = p.decoded(name)
        if value:
            content[name] = value
    if len(content.get("blocks", [])) > 50:
        raise _Fail("invalid_blocks")
    if not p.text("text") and "blocks" not in content and "attachments" not in content:
        raise _Fail("no_text")
    if len(p.text("text")) > 40_000:
        raise _Fail("msg_too_long")
    return content


def _idempotency_key(message: JsonDict) -> str | None:
    payload = (message.get("metadata") or {}).get("event_payload") or {}
    key = payload.get("idempotency_key")
    return None if key is None else str(key)


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"next:{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        prefix, offset = base64.b64decode(cursor).decode().split(":")
        if prefix != "next":
            raise ValueError(prefix)
        return int(offset)
    except ValueError:
        raise _Fail("invalid_cursor") from None


def _page(items: Sequence[T], p: _Params, default_limit: int) -> tuple[list[T], JsonDict]:
    """Cursor pagination as Slack does it; a limit of 0 means the rest."""
    start = _decode_cursor(p.text("cursor"))
    limit = p.number("limit", default_limit) or len(items)
    end = start + limit
    cursor = _encode_cursor(end) if end < len(items) else ""
    return list(items[start:end]), {"next_cursor": cursor}


# --------------------------------------------------------------------------- methods

Handler = Callable[[_Workspace, _Params], JsonDict]


def _auth_test(ws: _Workspace, p: _Params) -> JsonDict:
    return {
        "ok": True,
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": "tandem",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def _team_info(ws: _Workspace, p: _Params) -> JsonDict:
    team = {
        "id": TEAM_ID,
        "name": TEAM_NAME,
        "domain": TEAM_DOMAIN,
        "email_domain": "example.com",
        "icon": {"image_default": True},
    }
    return {"ok": True, "team": team}


def _users_info(ws: _Workspace, p: _Params) -> JsonDict:
    user = ws.users.get(p.required("user", "user_not_found"))
    if user is None:
        raise _Fail("user_not_found")
    return {"ok": True, "user": _user_payload(user)}


def _users_list(ws: _Workspace, p: _Params) -> JsonDict:
    members, metadata = _page(list(ws.users.values()), p, default_limit=0)
    return {
        "ok": True,
        "members": [_user_payload(user) for user in members],
        "cache_ts": int(ws.clock()),
        "response_metadata": metadata,
    }


def _usergroups_list(ws: _Workspace, p: _Params) -> JsonDict:
    groups = []
    for group in ws.usergroups.values():
        if group["date_delete"] and not p.flag("include_disabled"):
            continue
        shown = {**group, "user_count": len(group["users"])}
        if not p.flag("include_users"):
            shown.pop("users")
        groups.append(shown)
    return {"ok": True, "usergroups": groups}


def _usergroups_users_list(ws: _Workspace, p: _Params) -> JsonDict:
    group = ws.usergroups.get(p.required("usergroup", "no_such_subteam"))
    if group is None:
        raise _Fail("no_such_subteam")
    return {"ok": True, "users": list(group["users"])}


def _conversations_members(ws: _Workspace, p: _Params) -> JsonDict:
    channel = ws.channel(p.required("channel", "channel_not_found"))
    members, metadata = _page(channel.members, p, default_limit=100)
    return {"ok": True, "members": members, "response_metadata": metadata}


def _conversations_info(ws: _Workspace, p: _Params) -> JsonDict:
    channel = ws.channel(p.required("channel", "channel_not_found"))
    return {"ok": True, "channel": _channel_payload(channel)}


def _conversations_list(ws: _Workspace, p: _Params) -> JsonDict:
    wanted = set(p.ids("types") or ["public_channel"])

    def kind(channel: _Channel) -> str:
        if channel.is_im:
            return "im"
        if channel.is_mpim:
            return "mpim"
        return "private_channel" if channel.is_private else "public_channel"

    chosen = [channel for channel in ws.channels.values() if kind(channel) in wanted]
    channels, metadata = _page(chosen, p, default_limit=100)
    return {
        "ok": True,
        "channels": [_channel_payload(channel) for channel in channels],
        "response_metadata": metadata,
    }


def _conversations_open(ws: _Workspace, p: _Params) -> JsonDict:
    if p.text("channel"):
        channel = ws.channel(p.text("channel"))
    else:
        channel = ws.open_conversation(p.ids("users"))
    shown = _channel_payload(channel) if p.flag("return_im") else {"id": channel.id}
    return {"ok": True, "channel": shown}


def _conversations_join(ws: _Workspace, p: _Params) -> JsonDict:
    channel = ws.channel(p.required("channel", "channel_not_found"))
    channel.is_member = True
    if BOT_USER_ID not in channel.members:
        channel.members.append(BOT_USER_ID)
    return {"ok": True, "channel": _channel_payload(channel)}


def _conversations_history(ws: _Workspace, p: _Params) -> JsonDict:
    channel = ws.channel_for_bot(p.required("channel", "channel_not_found"))
    inclusive = p.flag("inclusive")
    oldest = _ts_key(p.text("oldest") or "0")
    latest = _ts_key(p.text("latest")) if p.text("latest") else None

    def in_range(message: JsonDict) -> bool:
        ts = _ts_key(message["ts"])
        if message.get("thread_ts", message["ts"]) != message["ts"]:
            return False  # thread replies live in conversations.replies
        above = ts >= oldest if inclusive else ts > oldest
        below = latest is None or (ts <= latest if inclusive else ts < latest)
        return above and below

    newest_first = [m for m in reversed(channel.messages) if in_range(m)]
    messages, metadata = _page(newest_first, p, default_limit=100)
    if not p.flag("include_all_metadata"):
        messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
    return {
        "ok": True,
        "messages": messages,
        "has_more": bool(metadata["next_cursor"]),
        "pin_count": 0,
        "response_metadata": metadata,
    }


def _conversations_replies(ws: _Workspace, p: _Params) -> JsonDict:
    """A thread: its parent first, then the replies, oldest first (as Slack pages them)."""
    channel = ws.channel_for_bot(p.required("channel", "channel_not_found"))
    parent_ts = p.required("ts", "thread_not_found")
    oldest = _ts_key(p.text("oldest") or "0")
    thread = [
        m
        for m in channel.messages
        if (m["ts"] == parent_ts or m.get("thread_ts") == parent_ts)
        and (m["ts"] == parent_ts or _ts_key(m["ts"]) >= oldest)
    ]
    if not thread:
        raise _Fail("thread_not_found")
    messages, metadata = _page(thread, p, default_limit=100)
    if not p.flag("include_all_metadata"):
        messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
    return {
        "ok": True,
        "messages": messages,
        "has_more": bool(metadata["next_cursor"]),
        "response_metadata": metadata,
    }


def _chat_post_message(ws: _Workspace, p: _Params) -> JsonDict:
    channel = ws.channel_for_bot(p.required("channel", "channel_not_found"))
    content = _message_content(p)
    message = {**_bot_message(p.text("text"), ws.next_ts()), **content}
    if p.text("thread_ts"):
        message["thread_ts"] = p.text("thread_ts")
    channel.messages.append(message)
    ws.posted.append((channel.id, message["text"], _idempotency_key(message)))
    return {"ok": True, "channel": channel.id, "ts": message["ts"], "message": dict(message)}


def _chat_post_ephemeral(ws: _Workspace, p: _Params) -> JsonDict:
    channel = ws.channel_for_bot(p.required("channel", "channel_not_found"))
    user = p.required("user", "user_not_in_channel")
    _message_content(p)
    if user not in channel.members:
        raise _Fail("user_not_in_channel")
    return {"ok": True, "message_ts": ws.next_ts()}


def _chat_update(ws: _Workspace, p: _Params) -> JsonDict:
    channel = ws.channel_for_bot(p.required("channel", "channel_not_found"))
    message = ws.message(channel, p.required("ts", "message_not_found"))
    message.update(_message_content(p), text=p.text("text"))
    message["edited"] = {"user": BOT_USER_ID, "ts": ws.next_ts()}
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message["ts"],
        "text": message["text"],
        "message": dict(message),
    }


def _chat_delete(ws: _Workspace, p: _Params) -> JsonDict:
    channel = ws.channel_for_bot(p.required("channel", "channel_not_found"))
    message = ws.message(channel, p.required("ts", "message_not_found"))
    channel.messages.remove(message)
    return {"ok": True, "channel": channel.id, "ts": message["ts"]}


def _chat_get_permalink(ws: _Workspace, p: _Params) -> JsonDict:
    channel = ws.channel(p.required("channel", "channel_not_found"))
    ts = p.required("message_ts", "message_not_found")
    ws.message(channel, ts)
    return {"ok": True, "channel": channel.id, "permalink": ws.permalink(channel.id, ts)}


def _reactions_add(ws: _Workspace, p: _Params) -> JsonDict:
    channel = ws.channel_for_bot(p.required("channel", "channel_not_found"))
    message = ws.message(channel, p.required("timestamp", "message_not_found"))
    name = p.required("name", "invalid_name")
    reactions = message.setdefault("reactions", [])
    if any(reaction["name"] == name for reaction in reactions):
        raise _Fail("already_reacted")
    reactions.append({"name": name, "users": [BOT_USER_ID], "count": 1})
    return {"ok": True}


def _view_payload(ws: _Workspace, view: Any, view_id: str, previous: JsonDict | None) -> JsonDict:
    if not isinstance(view, dict) or "type" not in view:
        raise _Fail("invalid_arguments")
    return {
        "id": view_id,
        "team_id": TEAM_ID,
        "app_id": APP_ID,
        "bot_id": BOT_ID,
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "external_id": "",
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": None,
        "root_view_id": (previous or {}).get("root_view_id", view_id),
        **view,
        "state": {"values": {}},
        "hash": f"{int(ws.clock())}.{ws.next_id('h')}",
    }


def _store_view(ws: _Workspace, view: JsonDict) -> JsonDict:
    ws.views[view["id"]] = view
    return {"ok": True, "view": view}


def _views_open(ws: _Workspace, p: _Params) -> JsonDict:
    p.required("trigger_id")
    return _store_view(ws, _view_payload(ws, p.decoded("view"), ws.next_id("V"), None))


def _views_push(ws: _Workspace, p: _Params) -> JsonDict:
    p.required("trigger_id")
    return _store_view(ws, _view_payload(ws, p.decoded("view"), ws.next_id("V"), None))


def _views_update(ws: _Workspace, p: _Params) -> JsonDict:
    if p.text("external_id"):
        matches = [v for v in ws.views.values() if v["external_id"] == p.text("external_id")]
        current = matches[-1] if matches else None
    else:
        current = ws.views.get(p.text("view_id"))
    if current is None:
        raise _Fail("not_found")
    if p.text("hash") and p.text("hash") != current["hash"]:
        raise _Fail("hash_conflict")
    return _store_view(ws, _view_payload(ws, p.decoded("view"), current["id"], current))


def _views_publish(ws: _Workspace, p: _Params) -> JsonDict:
    user_id = p.required("user_id")
    view_id = ws.home_views.setdefault(user_id, ws.next_id("V"))
    return _store_view(ws, _view_payload(ws, p.decoded("view"), view_id, None))


def _files_get_upload_url_external(ws: _Workspace, p: _Params) -> JsonDict:
    name = p.required("filename")
    length = p.number("length", 0)
    if length <= 0:
        raise _Fail("invalid_arguments")
    file_id = ws.next_id("F")
    ws.files[file_id] = _File(id=file_id, name=name, length=length)
    return {"ok": True, "upload_url": f"{ws.root_url}/upload/{file_id}", "file_id": file_id}


def _file_payload(ws: _Workspace, file: _File, title: str, channels: list[str]) -> JsonDict:
    mimetype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return {
        "id": file.id,
        "created": int(ws.clock()),
        "timestamp": int(ws.clock()),
        "name": file.name,
        "title": title or file.name,
        "mimetype": mimetype,
        "filetype": file.name.rsplit(".", 1)[-1] if "." in file.name else "binary",
        "user": BOT_USER_ID,
        "size": len(file.data or b""),
        "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{file.id}/{file.name}",
        "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{file.id}/{file.name}",
        "channels": channels,
    }


def _files_complete_upload_external(ws: _Workspace, p: _Params) -> JsonDict:
    wanted = p.decoded("files")
    if not isinstance(wanted, list) or not wanted:
        raise _Fail("invalid_arguments")
    channel = ws.channel_for_bot(p.text("channel_id")) if p.text("channel_id") else None
    channels = [channel.id] if channel else []
    shared = []
    for entry in wanted:
        file = ws.files.get(str(entry.get("id")))
        if file is None or file.data is None:
            raise _Fail("file_not_found")
        shared.append(_file_payload(ws, file, str(entry.get("title") or ""), channels))
    if channel is not None:
        message = {**_bot_message(p.text("initial_comment"), ws.next_ts()), "files": shared}
        if p.text("thread_ts"):
            message["thread_ts"] = p.text("thread_ts")
        channel.messages.append(message)
    return {"ok": True, "files": shared}


def _apps_connections_open(ws: _Workspace, p: _Params) -> JsonDict:
    return {"ok": True, "url": ws.socket_mode_url}


METHODS: dict[str, Handler] = {
    "auth.test": _auth_test,
    "apps.connections.open": _apps_connections_open,
    "team.info": _team_info,
    "users.info": _users_info,
    "users.list": _users_list,
    "usergroups.list": _usergroups_list,
    "usergroups.users.list": _usergroups_users_list,
    "conversations.members": _conversations_members,
    "conversations.info": _conversations_info,
    "conversations.list": _conversations_list,
    "conversations.open": _conversations_open,
    "conversations.join": _conversations_join,
    "conversations.history": _conversations_history,
    "conversations.replies": _conversations_replies,
    "chat.postMessage": _chat_post_message,
    "chat.postEphemeral": _chat_post_ephemeral,
    "chat.update": _chat_update,
    "chat.delete": _chat_delete,
    "chat.getPermalink": _chat_get_permalink,
    "reactions.add": _reactions_add,
    "views.open": _views_open,
    "views.push": _views_push,
    "views.update": _views_update,
    "views.publish": _views_publish,
    "files.getUploadURLExternal": _files_get_upload_url_external,
    "files.completeUploadExternal": _files_complete_upload_external,
}


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class _Reply:
    status: int
    payload: JsonDict
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> bytes:
        return json.dumps(self.payload).encode()


_STATUS_ERRORS = {
    429: "ratelimited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "request_timeout",
}


def _status_reply(status: int, retry_after: int) -> _Reply:
    headers = (("Retry-After", str(retry_after)),) if status == 429 else ()
    error = _STATUS_ERRORS.get(status, f"http_{status}")
    return _Reply(status, {"ok": False, "error": error}, headers)


@dataclass(frozen=True)
class _Fault:
    reply: _Reply | None = None  # answer this instead of applying the call
    drop: bool = False
    after_processing: bool = False


class _RateLimiter:
    """At most `rate` posts per second per key, as one-post spacing (no bursts)."""

    def __init__(self, per_channel: float | None, workspace: float | None) -> None:
        self._spacing = {
            "channel": 1.0 / per_channel if per_channel else None,
            "workspace": 1.0 / workspace if workspace else None,
        }
        self._next_allowed: dict[tuple[str, str], float] = {}

    def retry_after(self, channel: str, now: float) -> int | None:
        """Seconds to wait (rounded up, as Slack's header), or None and the post counts."""
        keys = [(scope, channel if scope == "channel" else "*") for scope in self._spacing]
        keys = [key for key in keys if self._spacing[key[0]] is not None]
        wait = max((self._next_allowed.get(key, 0.0) - now for key in keys), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for key in keys:
            spacing = self._spacing[key[0]]
            assert spacing is not None
            self._next_allowed[key] = now + spacing
        return None


class _MethodLimits:
    """Slack's per-method tiers: at most N calls to a method in any 60 s, 429 beyond.

    Slack allows short bursts within a tier, so this is a sliding window, not an
    even spacing. `clock` is the fake's own: a test that also hands its client a
    fake sleep moves both, so honouring `Retry-After` costs no real time.
    """

    WINDOW = 60.0

    def __init__(self, per_minute: Mapping[str, int], clock: Callable[[], float]) -> None:
        self._limits = dict(per_minute)
        self._clock = clock
        self._recent: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, method: str) -> int | None:
        """Seconds to wait (rounded up, as Slack's header), or None and the call counts."""
        limit = self._limits.get(method)
        if limit is None:
            return None
        now = self._clock()
        recent = self._recent[method]
        while recent and recent[0] <= now - self.WINDOW:
            recent.popleft()
        if len(recent) >= limit:
            return max(1, math.ceil(recent[0] + self.WINDOW - now))
        recent.append(now)
        return None


# --------------------------------------------------------------------------- server


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `FakeSlack.calls`, not stderr."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = self.server.fake._respond(self.path, headers, raw)
        if reply is None:
            self.close_connection = True  # no status line: the client sees EOF
            return
        body = reply.body()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeSlack) -> None:
        super().__init__(("127.0.0.1", 0), _RequestHandler)
        self.fake = fake


_POLL_SECONDS = 0.02  # how soon stop() takes effect; serve_forever only checks between polls


class FakeSlack:
    """A Slack Web API double served over HTTP on 127.0.0.1 (ephemeral port).

    The bot user `UBOT` is in the directory from the start, as in a real workspace.
    Upload bytes go to POST /upload/<file_id> (recorded as method "upload");
    `response_url()` hands out POST /response/<n> URLs (recorded as "response_url").
    """

    def __init__(
        self,
        token: str | Collection[str] = DEFAULT_TOKEN,
        clock: Callable[[], float] = time.time,
        app_token: str = APP_TOKEN,
    ) -> None:
        self._tokens = {token} if isinstance(token, str) else set(token)
        self._app_token = app_token
        self._clock = clock
        self._cond = threading.Condition(threading.RLock())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._calls: list[Call] = []
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._limiter: _RateLimiter | None = None
        self._method_limits: _MethodLimits | None = None
        self._stats = Stats()
        self._responses = 0
        self.handler_errors: list[str] = []
        self._ws = self._new_workspace()

    # lifecycle ---------------------------------------------------------------

    def start(self) -> FakeSlack:
        if self._server is None:
            self._server = _Server(self)
            self._ws.root_url = self.root
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": _POLL_SECONDS},
                name="fake-slack",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The Web API base URL, e.g. http://127.0.0.1:PORT/api/."""
        return f"{self.root}/api/"

    def serve_socket_mode(self, url: str) -> None:
        """Make apps.connections.open hand out `url` (a test's local WebSocket server)."""
        with self._cond:
            self._ws.socket_mode_url = url

    def response_url(self) -> str:
        """A fresh slash-command/interaction response_url served by this fake."""
        with self._cond:
            self._responses += 1
            return f"{self.root}/response/{self._responses}"

    # directory ---------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        tz: str = "UTC",
        is_bot: bool = False,
        deleted: bool = False,
        is_admin: bool = False,
        is_owner: bool = False,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        real_name: str | None = None,
        display_name: str | None = None,
        email: str | None = None,
    ) -> None:
        ZoneInfo(tz)  # fail at seeding time, not inside a request
        handle = name or user_id.lower()
        real = real_name or handle.replace(".", " ").title()
        profile = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": display_name if display_name is not None else handle,
            "display_name_normalized": display_name if display_name is not None else handle,
            "team": TEAM_ID,
            "image_72": f"https://avatars.slack-edge.com/{user_id}_72.png",
        }
        if email:
            profile["email"] = email
        with self._cond:
            self._ws.users[user_id] = {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": handle,
                "deleted": deleted,
                "real_name": real,
                "tz": tz,
                "profile": profile,
                "is_admin": is_admin,
                "is_owner": is_owner,
                "is_primary_owner": False,
                "is_restricted": is_restricted,
                "is_ultra_restricted": is_ultra_restricted,
                "is_bot": is_bot,
                "is_app_user": False,
                "updated": int(self._clock()),
            }

    def add_usergroup(
        self, id: str, handle: str, users: Iterable[str], name: str | None = None
    ) -> None:
        with self._cond:
            self._ws.usergroups[id] = {
                "id": id,
                "team_id": TEAM_ID,
                "is_usergroup": True,
                "is_external": False,
                "name": name or handle.title(),
                "description": "",
                "handle": handle,
                "date_create": 1_600_000_000,
                "date_update": 1_600_000_000,
                "date_delete": 0,
                "users": list(users),
            }

    def add_channel(
        self,
        id: str,
        name: str,
        members: Iterable[str],
        is_member: bool = True,
        is_private: bool = False,
    ) -> None:
        people = list(members)
        if is_member and BOT_USER_ID not in people:
            people.append(BOT_USER_ID)
        with self._cond:
            self._ws.channels[id] = _Channel(id, name, people, is_member, is_private)

    # faults and limits -------------------------------------------------------

    def fail_next(
        self, method: str, count: int = 1, status: int = 429, retry_after: int = 1
    ) -> None:
        """Answer the next `count` calls with this HTTP status, without applying them."""
        self._add_faults(method, count, _Fault(reply=_status_reply(status, retry_after)))

    def error_next(self, method: str, error: str = "channel_not_found", count: int = 1) -> None:
        """Answer the next `count` calls with HTTP 200 ok:false, without applying them."""
        self._add_faults(method, count, _Fault(reply=_Reply(200, {"ok": False, "error": error})))

    def drop_next(self, method: str, count: int = 1, after_processing: bool = False) -> None:
        """Close the connection with no answer; with after_processing the call is applied first."""
        self._add_faults(method, count, _Fault(drop=True, after_processing=after_processing))

    def slow_down(self, method: str, seconds: float) -> None:
        """Answer every later call to `method` (e.g. "response_url") only after `seconds`."""
        with self._cond:
            self._delays[method] = seconds

    def rate_limit(
        self, per_channel_per_second: float | None = 1.0, workspace_per_second: float | None = None
    ) -> None:
        """Limit chat.postMessage like Slack; pass None for both to lift the limits."""
        with self._cond:
            if per_channel_per_second is None and workspace_per_second is None:
                self._limiter = None
            else:
                self._limiter = _RateLimiter(per_channel_per_second, workspace_per_second)

    def limit_methods(
        self, per_minute: Mapping[str, int] | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Answer 429 with Retry-After to calls beyond `per_minute[method]` in any 60 s.

        Slack's tiers for the directory reads: users.list and usergroups.users.list
        are Tier 2 (20 a minute), conversations.members Tier 4 (100). `clock` gives
        seconds; pass None to lift the limits.
        """
        with self._cond:
            self._method_limits = None if per_minute is None else _MethodLimits(per_minute, clock)

    def _add_faults(self, method: str, count: int, fault: _Fault) -> None:
        with self._cond:
            self._faults[method].extend([fault] * count)

    # inspection --------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [call for call in self._calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until `count` calls to `method` have been answered; the way to await a sender."""
        with self._cond:
            arrived = self._cond.wait_for(lambda: len(self.calls_to(method)) >= count, timeout)
            if not arrived:
                seen = [call.method for call in self._calls]
                raise AssertionError(
                    f"expected {count} call(s) to {method} within {timeout}s; calls so far: {seen}"
                )
            return self.calls_to(method)

    @property
    def stats(self) -> Stats:
        with self._cond:
            return replace(self._stats)

    def duplicates(self) -> int:
        """Posts beyond the first per idempotency key (or per (channel, text) without one)."""
        with self._cond:
            keys = [
                key if key is not None else (channel, text)
                for channel, text, key in self._ws.posted
            ]
            return len(keys) - len(set(keys))

    def messages(self, channel_id: str) -> list[JsonDict]:
        """Messages now in a channel, oldest first (thread replies included)."""
        with self._cond:
            channel = self._ws.channels.get(channel_id)
            if channel is None:
                raise KeyError(f"no channel {channel_id} in the fake workspace")
            return copy.deepcopy(channel.messages)

    def file_bytes(self, file_id: str) -> bytes | None:
        with self._cond:
            file = self._ws.files.get(file_id)
            return None if file is None else file.data

    def reset(self, directory: bool = False) -> None:
        """Forget calls, faults, limits, stats and posted content; keep users and channels."""
        with self._cond:
            self._calls.clear()
            self._faults.clear()
            self._delays.clear()
            self._limiter = None
            self._method_limits = None
            self._stats = Stats()
            self.handler_errors.clear()
            old = self._ws
            self._ws = self._new_workspace()
            self._ws.root_url = old.root_url
            if not directory:
                self._ws.users = old.users
                self._ws.usergroups = old.usergroups
                for channel in old.channels.values():
                    if not (channel.is_im or channel.is_mpim):
                        self._ws.channels[channel.id] = replace(channel, messages=[])

    def _new_workspace(self) -> _Workspace:
        ws = _Workspace(self._clock)
        self._ws = ws
        self.add_user(BOT_USER_ID, name="tandem", real_name="Tandem", is_bot=True)
        return ws

    # request pipeline --------------------------------------------------------

    def _respond(self, target: str, headers: dict[str, str], raw: bytes) -> _Reply | None:
        """Answer one request and record it atomically; None means drop the connection."""
        at = time.monotonic()
        parts = urlsplit(target)
        method, argument = _route(parts.path)
        body_error = None
        if method == "upload":
            params: dict[str, Any] = {"file_id": argument, "length": len(raw)}
        else:
            try:
                params = _parse_params(parts.query, headers.get("content-type", ""), raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                params, body_error = {}, "invalid_json"
        delay = self._delays.get(method, 0.0)
        if delay:
            time.sleep(delay)  # a slow Slack: this request only, the fake serves others meanwhile
        with self._cond:
            reply, dropped = self._decide(method, argument, params, headers, raw, at, body_error)
            call = Call(
                method=method,
                params=params,
                headers=headers,
                at=at,
                path=parts.path,
                status=reply.status,
                reply=reply.payload,
                dropped=dropped,
            )
            self._count(call)
            self._calls.append(call)
            self._cond.notify_all()
        return None if dropped else reply

    def _decide(
        self,
        method: str,
        argument: str,
        params: dict[str, Any],
        headers: dict[str, str],
        raw: bytes,
        now: float,
        body_error: str | None,
    ) -> tuple[_Reply, bool]:
        if argument == "api":
            auth_error = self._auth_error(method, headers, params)
            if auth_error:
                return _Reply(200, {"ok": False, "error": auth_error}), False
        if body_error:
            return _Reply(200, {"ok": False, "error": body_error}), False
        fault = self._faults[method].popleft() if self._faults.get(method) else _Fault()
        if fault.reply is not None:
            return fault.reply, False
        if fault.drop and not fault.after_processing:
            return _Reply(0, {}), True
        if self._method_limits is not None:
            tier_wait = self._method_limits.retry_after(method)
            if tier_wait is not None:
                return _status_reply(429, tier_wait), False
        if method == "chat.postMessage" and self._limiter is not None:
            wait = self._limiter.retry_after(str(params.get("channel", "")), now)
            if wait is not None:
                return _status_reply(429, wait), False
        return self._apply(method, argument, params, raw), fault.drop

    def _apply(self, method: str, argument: str, params: dict[str, Any], raw: bytes) -> _Reply:
        if method == "upload":
            return self._store_upload(argument, raw)
        if method == "response_url":
            return _Reply(200, {"ok": True})
        handler = METHODS.get(method)
        if handler is None:
            error = "unknown_method" if argument == "api" else "not_found"
            return _Reply(200 if argument == "api" else 404, {"ok": False, "error": error})
        try:
            return _Reply(200, handler(self._ws, _Params(copy.deepcopy(params))))
        except _Fail as failure:
            return _Reply(200, {"ok": False, "error": failure.error})
        except Exception as exc:  # a bug in the fake: make it loud in the test
            self.handler_errors.append(f"{method}: {exc!r}")
            return _Reply(500, {"ok": False, "error": f"fake_handler_error: {exc!r}"})

    def _store_upload(self, file_id: str, raw: bytes) -> _Reply:
        file = self._ws.files.get(file_id)
        if file is None:
            return _Reply(404, {"ok": False, "error": "file_not_found"})
        file.data = raw
        return _Reply(200, {"ok": True, "length": len(raw)})

    def _auth_error(
        self, method: str, headers: dict[str, str], params: dict[str, Any]
    ) -> str | None:
        authorization = headers.get("authorization", "")
        token = authorization.removeprefix("Bearer ").strip() or str(params.get("token") or "")
        if not token:
            return "not_authed"
        if method in APP_TOKEN_METHODS:
            if token.startswith("xapp-"):
                return None if token == self._app_token else "invalid_auth"
            return "not_allowed_token_type"
        return None if token in self._tokens else "invalid_auth"

    def _count(self, call: Call) -> None:
        if call.dropped:
            self._stats.dropped += 1
        elif call.status == 429:
            self._stats.ratelimited += 1
        elif not call.ok:
            self._stats.errors += 1
        elif call.method == "chat.postMessage":
            self._stats.posts_ok += 1


def _route(path: str) -> tuple[str, str]:
    """(method, argument): /api/<method>, /upload/<file_id>, /response/<n>."""
    _, _, rest = path.partition("/")
    prefix, _, tail = rest.partition("/")
    if prefix == "api" and tail:
        return tail, "api"
    if prefix == "upload" and tail:
        return "upload", tail
    if prefix == "response" and tail:
        return "response_url", tail
    return "not_found", path
