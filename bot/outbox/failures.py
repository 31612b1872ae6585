"""What a Slack answer means for an outbox row: done, wait, retry or give up.

The distinction that matters for idempotency is whether a failed call may
still have been applied (a dropped connection, a timeout, a 5xx): only then
must the next attempt look for the earlier one before calling again.
"""

from __future__ import annotations

import http.client
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError, SlackRequestError

# ok:false errors that no retry can fix; the row goes dead at once.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_not_in_channel",
        "user_disabled",
        "cannot_dm_bot",
        "users_list_not_supplied",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_attachments",
        "too_many_attachments",
        "msg_too_long",
        "no_text",
        "invalid_arguments",
        "invalid_arg_name",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "missing_scope",
        "not_allowed_token_type",
        "method_deprecated",
        "unknown_method",
        "file_not_found",
    }
)
# ok:false errors after which Slack may have done part or all of the work.
MAY_HAVE_APPLIED_ERRORS = frozenset(
    {"fatal_error", "internal_error", "request_timeout", "service_unavailable"}
)
# OSError covers urllib's URLError, ConnectionError (RemoteDisconnected) and TimeoutError.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)
DEFAULT_RETRY_AFTER_SECONDS = 1.0
MAX_RETRY_AFTER_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Sent:
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RateLimited:
    """HTTP 429: Slack did not apply the call; try again after `retry_after`, no attempt spent."""

    retry_after: float
    error: str
    paced_call: bool = True  # False when Slack limited a lookup, not the call we pace


@dataclass(frozen=True, slots=True)
class Failed:
    error: str  # one readable line, never the message text
    permanent: bool
    may_have_applied: bool


Outcome = Sent | RateLimited | Failed


def from_api_error(method: str, exc: SlackApiError) -> RateLimited | Failed:
    """`method` names the row's call; Slack's own URL says which step failed, when it can."""
    method = str(getattr(exc.response, "api_url", "") or "").rsplit("/", 1)[-1] or method
    status = int(getattr(exc.response, "status_code", 200) or 200)
    error = str(exc.response.get("error") or "unknown_error")
    if status == 429:
        retry_after = retry_after_seconds(exc.response.headers)
        return RateLimited(retry_after, f"rate limited by Slack; retrying after {retry_after:g}s")
    if status >= 500:
        return Failed(f"HTTP {status} from Slack ({error})", permanent=False, may_have_applied=True)
    if error in PERMANENT_ERRORS:
        return Failed(
            f"Slack refused {method}: {error} (retrying will not help)",
            permanent=True,
            may_have_applied=False,
        )
    return Failed(
        f"Slack answered {method} with {error}",
        permanent=False,
        may_have_applied=error in MAY_HAVE_APPLIED_ERRORS,
    )


def from_exception(exc: Exception) -> Failed:
    """A call that raised without a Slack answer."""
    if isinstance(exc, SlackApiError):
        raise TypeError("use from_api_error for Slack answers")
    if isinstance(exc, CONNECTION_ERRORS):
        return Failed(
            _describe(exc, "no answer from Slack"), permanent=False, may_have_applied=True
        )
    if isinstance(exc, SlackRequestError):
        # Raised by the client before or between requests (e.g. a file upload step failed).
        return Failed(_describe(exc, "request failed"), permanent=False, may_have_applied=False)
    return Failed(_describe(exc, "unexpected error"), permanent=False, may_have_applied=True)


def _describe(exc: BaseException, what: str) -> str:
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{what}: {type(exc).__name__}" + (f": {detail}" if detail else "")


def retry_after_seconds(headers: Mapping[str, Any] | None) -> float:
    """Retry-After as Slack sends it (whole seconds), with a floor when absent or garbled."""
    raw: Any = None
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            break
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS
    return min(max(seconds, DEFAULT_RETRY_AFTER_SECONDS), MAX_RETRY_AFTER_SECONDS)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base·2^(n-1)))."""

    max_attempts: int = 8
    base_seconds: float = 2.0
    cap_seconds: float = 300.0

    def delay(self, attempts: int, rng: random.Random) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return rng.uniform(0.0, ceiling)
