"""Making one outbox row's Slack call, after looking for an earlier attempt that may have landed.

chat.postMessage carries message metadata naming the row's idempotency key,
so after an ambiguous failure the next attempt reads the channel's recent
history (or the thread's replies) for that key and records the message it
finds instead of posting again. A file upload is recognised by file name and
title (files carry no metadata), so give each upload a distinct one. Other
calls are idempotent (conversations.open, chat.update, views.publish) or
cannot be looked up (chat.postEphemeral) and are simply made again.

Files are stored in the payload as base64 under `content_base64`: a chart is
small, and bytes in the row survive a crash with it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.outbox.failures import (
    Failed,
    Outcome,
    RateLimited,
    Sent,
    from_api_error,
    from_exception,
)
from storage.outbox import ClaimedRow

METADATA_EVENT_TYPE = "tandem_outbox"
POST_MESSAGE = "chat.postMessage"
FILES_UPLOAD_V2 = "files.upload_v2"
CONTENT_KEY = "content_base64"
# Slack may stamp a message a little before our row's created_at (clock skew).
LOOKBACK = timedelta(minutes=5)
HISTORY_PAGE_SIZE = 200
HISTORY_PAGES = 5


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: Outcome
    unconfirmed: bool  # the call may have been applied without our knowing


class PayloadError(ValueError):
    """The stored call cannot be made as it is; retrying will not change that."""


def file_upload(
    channel: str,
    content: bytes,
    filename: str,
    *,
    title: str | None = None,
    initial_comment: str | None = None,
    thread_ts: Any = None,
) -> dict[str, Any]:
    """The payload of a files.upload_v2 row."""
    payload: dict[str, Any] = {
        "channel": channel,
        "filename": filename,
        CONTENT_KEY: base64.b64encode(content).decode("ascii"),
    }
    optional = {"title": title, "initial_comment": initial_comment, "thread_ts": thread_ts}
    payload.update({k: v for k, v in optional.items() if v is not None})
    return payload


def with_idempotency_key(metadata: Any, key: str) -> dict[str, Any]:
    """Message metadata carrying `key`, keeping any event the caller attached."""
    if isinstance(metadata, Mapping) and metadata.get("event_type"):
        event_payload = dict(metadata.get("event_payload") or {})
        event_payload["idempotency_key"] = key
        return {**metadata, "event_payload": event_payload}
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"idempotency_key": key}}


def summarise(data: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of Slack's answer worth keeping: what a child row or an admin may need."""
    kept = {k: data[k] for k in ("channel", "ts", "message_ts", "thread_ts") if k in data}
    if isinstance(kept.get("channel"), Mapping):
        kept["channel"] = {"id": kept["channel"].get("id")}
    view = data.get("view")
    if isinstance(view, Mapping):
        kept["view"] = {"id": view.get("id")}
    files = data.get("files")
    if isinstance(files, list):
        kept["files"] = [{"id": f.get("id")} for f in files if isinstance(f, Mapping)]
    return kept


class SlackCalls:
    """Turns a claimed row into one Slack call (plus a lookup when an attempt may have landed)."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._dm_channels: dict[str, str] = {}

    def attempt(self, row: ClaimedRow) -> Attempt:
        unconfirmed = looking_up = row.unconfirmed
        try:
            if looking_up:
                found = self._find_earlier(row)
                if found is not None:
                    return Attempt(Sent(found), unconfirmed=False)
                unconfirmed = looking_up = False
            response = self._call(row)
            return Attempt(
                Sent(summarise(response.data if isinstance(response.data, dict) else {})), False
            )
        except SlackApiError as exc:
            failed = from_api_error(row.method, exc)
            if isinstance(failed, RateLimited) and looking_up:
                failed = replace(failed, paced_call=False)
        except PayloadError as exc:
            failed = Failed(str(exc), permanent=True, may_have_applied=False)
        except Exception as exc:
            failed = from_exception(exc)
        if isinstance(failed, Failed) and looking_up:
            failed = replace(failed, error=f"looking for the earlier attempt: {failed.error}")
        applied = isinstance(failed, Failed) and failed.may_have_applied
        return Attempt(failed, unconfirmed=unconfirmed or applied)

    # --- the call -----------------------------------------------------------

    def _call(self, row: ClaimedRow) -> SlackResponse:
        payload = dict(row.payload)
        if row.method == POST_MESSAGE:
            payload["metadata"] = with_idempotency_key(payload.get("metadata"), row.idempotency_key)
        if row.method == FILES_UPLOAD_V2:
            payload["content"] = _decoded_content(payload.pop(CONTENT_KEY, None))
        function = self._method(row.method)
        try:
            return function(**payload)
        except TypeError as exc:
            raise PayloadError(
                f"the stored {row.method} call does not fit slack_sdk: {exc}"
            ) from exc

    def _method(self, method: str) -> Callable[..., SlackResponse]:
        name = method.replace(".", "_")
        function = getattr(self.client, name, None) if not name.startswith("_") else None
        if function is None or not callable(function):
            raise PayloadError(f"{method} is not a Slack Web API method slack_sdk knows")
        return function  # type: ignore[no-any-return]

    # --- looking for an earlier attempt --------------------------------------

    def _find_earlier(self, row: ClaimedRow) -> dict[str, Any] | None:
        if row.method == POST_MESSAGE:
            return self._find_post(row)
        if row.method == FILES_UPLOAD_V2:
            return self._find_upload(row)
        return None

    def _find_post(self, row: ClaimedRow) -> dict[str, Any] | None:
        channel = self._conversation(str(row.payload.get("channel") or ""))
        if not channel:
            return None
        message = self._search(
            channel,
            row.created_at,
            row.payload.get("thread_ts"),
            lambda m: _metadata_key(m) == row.idempotency_key,
        )
        if message is None:
            return None
        return {"channel": channel, "ts": message["ts"], "recovered": True}

    def _find_upload(self, row: ClaimedRow) -> dict[str, Any] | None:
        channel = self._conversation(str(row.payload.get("channel") or ""))
        if not channel:
            return None
        filename = row.payload.get("filename")
        title = row.payload.get("title") or filename

        def same_file(message: Mapping[str, Any]) -> bool:
            return any(
                f.get("name") == filename and f.get("title") == title
                for f in message.get("files") or []
                if isinstance(f, Mapping)
            )

        message = self._search(channel, row.created_at, row.payload.get("thread_ts"), same_file)
        if message is None:
            return None
        files = [{"id": f.get("id")} for f in message.get("files") or [] if isinstance(f, Mapping)]
        return {"channel": channel, "ts": message["ts"], "files": files, "recovered": True}

    def _conversation(self, channel: str) -> str:
        """History needs a conversation id; a post to a user id lands in the DM with them."""
        if not channel.startswith(("U", "W")):
            return channel
        if channel not in self._dm_channels:
            opened = self.client.conversations_open(users=channel)
            self._dm_channels[channel] = str(opened["channel"]["id"])
        return self._dm_channels[channel]

    def _search(
        self,
        channel: str,
        since: datetime,
        thread_ts: Any,
        matches: Callable[[Mapping[str, Any]], bool],
    ) -> Mapping[str, Any] | None:
        oldest = f"{(since - LOOKBACK).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            common: dict[str, Any] = {
                "channel": channel,
                "oldest": oldest,
                "limit": HISTORY_PAGE_SIZE,
                "include_all_metadata": True,
                "cursor": cursor,
            }
            if isinstance(thread_ts, str) and thread_ts:
                page = self.client.conversations_replies(ts=thread_ts, **common)
            else:
                page = self.client.conversations_history(**common)
            for message in page.get("messages") or []:
                if isinstance(message, Mapping) and matches(message):
                    return message
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return None
        return None


def _metadata_key(message: Mapping[str, Any]) -> str | None:
    metadata = message.get("metadata")
    if not isinstance(metadata, Mapping):
        return None
    event_payload = metadata.get("event_payload")
    if not isinstance(event_payload, Mapping):
        return None
    key = event_payload.get("idempotency_key")
    return None if key is None else str(key)


def _decoded_content(encoded: Any) -> bytes:
    if not isinstance(encoded, str):
        raise PayloadError(f"a {FILES_UPLOAD_V2} row needs its bytes in {CONTENT_KEY!r}")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PayloadError(f"{CONTENT_KEY!r} is not valid base64") from exc
