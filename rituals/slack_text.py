"""Slack's escaped message text: the one place that reads it and the one that writes it.

Slack sends slash-command text with mentions escaped (when the command is
created with `should_escape: true`): `<@U123|ana>`, `<!subteam^S123|@mkt>`,
`<#C123|joint>`, `<https://x|label>`, and `&amp;` `&lt;` `&gt;`.

Everything a member's client sends is untrusted, so every piece of user text
or user-supplied id reaches a message through this module: `escape` for
plain text, the `*_mention` builders for ids (an id without Slack's id shape
becomes escaped text), `sanitize` for text that is already Slack-escaped (a
stored answer, a command's words), `permalink` for a message link, `echo`
to repeat a member's words in a reply. Broadcasts (`<!channel>`, `<!here>`,
`<!everyone>`) are never built from user input: they become plain text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rituals.text_chunks import split_text

# A token never contains "<": Slack escapes a typed "<" as &lt;, so a raw one
# starts the next token and a stray one ("<<@U1>") is plain text.
_TOKEN = re.compile(r"<([@#!])([^<>|]*)(?:\|([^<>]*))?>|<([^<>|]*)(?:\|([^<>]*))?>")
_SUBTEAM = "subteam^"


@dataclass(frozen=True, slots=True)
class UserMention:
    user_id: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class UsergroupMention:
    usergroup_id: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelMention:
    channel_id: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Text:
    text: str


Token = UserMention | UsergroupMention | ChannelMention | Link | Text


# Slack's id shapes: users (U, or W on Enterprise Grid), user groups, conversations.
USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
USERGROUP_ID = re.compile(r"S[A-Z0-9]{2,}")
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
EMOJI_NAME = re.compile(r"[a-z0-9_+'-]+")
_MAX_ID_LENGTH = 32  # Slack's ids are 9 to 11 characters; anything far longer is not one.
# A message link as chat.getPermalink returns it, optionally with its thread.
_PERMALINK = re.compile(
    r"https://[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.enterprise)?\.slack\.com"
    r"/archives/[CGD][A-Z0-9]{2,31}/p[0-9]{6,20}"
    r"(?:\?(?:thread_ts=[0-9]{1,20}\.[0-9]{1,9}|cid=[CGD][A-Z0-9]{2,31})"
    r"(?:&(?:thread_ts=[0-9]{1,20}\.[0-9]{1,9}|cid=[CGD][A-Z0-9]{2,31}))?)?"
)
# Links a member may put in their own text: web and mail addresses, nothing else.
_LINK_URL = re.compile(r"(?:https?://|mailto:)[^\s<>|]+", re.IGNORECASE)
# C0 and C1 control characters and DEL, except tab and line feed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ELLIPSIS = "…"
_SKIN_TONES = frozenset("23456")
# A record id of ours (a ritual's, a partnership's): ASCII digits within a 32-bit integer.
_RECORD_ID = re.compile(r"[0-9]{1,10}")
MAX_RECORD_ID = 2**31 - 1


def strip_controls(text: str) -> str:
    """Without NUL and other control characters; a CR LF or lone CR becomes a line feed."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def escape(text: str) -> str:
    """Plain text as Slack-escaped text: control characters gone, `&`, `<`, `>` literal."""
    return strip_controls(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _shaped(pattern: re.Pattern[str], value: object) -> bool:
    return (
        isinstance(value, str) and len(value) <= _MAX_ID_LENGTH and bool(pattern.fullmatch(value))
    )


def is_user_id(value: object) -> bool:
    return _shaped(USER_ID, value)


def is_usergroup_id(value: object) -> bool:
    return _shaped(USERGROUP_ID, value)


def is_channel_id(value: object) -> bool:
    return _shaped(CHANNEL_ID, value)


def is_emoji_name(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 100 and bool(EMOJI_NAME.fullmatch(value))


def user_mention(user_id: object, label: str | None = None) -> str:
    """`<@U…>`, or the id as plain text when it does not have a user id's shape."""
    if is_user_id(user_id):
        return _token(f"@{user_id}", label)
    return escape(f"@{user_id}")


def usergroup_mention(usergroup_id: object, label: str | None = None) -> str:
    if is_usergroup_id(usergroup_id):
        return _token(f"!subteam^{usergroup_id}", label)
    return escape(f"@{usergroup_id}")


def channel_mention(channel_id: object, label: str | None = None) -> str:
    if is_channel_id(channel_id):
        return _token(f"#{channel_id}", label)
    return escape(f"#{channel_id}")


def emoji(name: object, skin_tone: object = None) -> str:
    """`:name:` (with a skin tone 2-6), or the name as plain text when it is not an emoji name."""
    if not is_emoji_name(name):
        return escape(f":{name}:")
    shaded = isinstance(skin_tone, int | str) and not isinstance(skin_tone, bool)
    tone = str(skin_tone) if shaded else ""
    return f":{name}:" + (f":skin-tone-{tone}:" if tone in _SKIN_TONES else "")


def link(url: object, label: str | None = None) -> str:
    """A web or mail link; anything else (`!channel`, `javascript:`) is shown as text."""
    shown = escape(label) if label else None
    if not isinstance(url, str) or not _LINK_URL.fullmatch(url):
        return shown or escape(str(url or ""))
    return _token(escape(url), shown)


def permalink(value: object) -> str | None:
    """The value if it is a Slack message permalink (https://<workspace>.slack.com/archives/…)."""
    if isinstance(value, str) and len(value) <= 300 and _PERMALINK.fullmatch(value):
        return value
    return None


def _token(body: str, label: str | None) -> str:
    """`<body|label>`; the label is already escaped and loses any `|` that would end it early."""
    label = label.replace("|", "¦") if label else None
    return f"<{body}|{label}>" if label else f"<{body}>"


def render(tokens: Iterable[Token]) -> str:
    """Tokens back to Slack-escaped text, keeping only mentions and links of the right shape."""
    parts: list[str] = []
    for token in tokens:
        if isinstance(token, Text):
            parts.append(escape(token.text))
        elif isinstance(token, UserMention):
            parts.append(user_mention(token.user_id, _label(token.label)))
        elif isinstance(token, UsergroupMention):
            parts.append(usergroup_mention(token.usergroup_id, _label(token.label)))
        elif isinstance(token, ChannelMention):
            parts.append(channel_mention(token.channel_id, _label(token.label)))
        else:
            parts.append(link(token.url, token.label))
    return "".join(parts)


def _label(label: str | None) -> str | None:
    """A mention's label as read by `tokenize` (still escaped), escaped exactly once."""
    return escape(unescape(label)) if label else None


def sanitize(text: str) -> str:
    """Slack-escaped text from a member made safe to post: no broadcast, no forged mention.

    Mentions and links of the right shape stay live; `<!here>`, `<!date…>` and
    anything else in angle brackets become plain text.
    """
    return render(tokenize(strip_controls(text)))


def truncate(text: str, limit: int) -> str:
    """Escaped text cut to at most `limit` characters, ending in "…", never inside a token."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return _ELLIPSIS[:limit]
    chunks = split_text(text, limit - 1)
    return (chunks[0] if chunks else "") + _ELLIPSIS


def echo(text: str, limit: int = 80) -> str:
    """A member's Slack-escaped words repeated in a reply: sanitized and cut short."""
    return truncate(sanitize(text), limit)


def record_id(text: object) -> int | None:
    """One of our own record ids written by a member or carried in a value, or None.

    Only ASCII digits in a 32-bit range: `²` is a digit to `str.isdigit` but
    not to `int`, and a 20-digit number overflows the database's integer.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return text if 1 <= text <= MAX_RECORD_ID else None
    if not isinstance(text, str) or not _RECORD_ID.fullmatch(text):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_RECORD_ID else None


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def tokenize(text: str) -> list[Token]:
    """Split escaped Slack text into mentions, links and plain text runs."""
    tokens: list[Token] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        if match.start() > pos:
            tokens.append(Text(unescape(text[pos : match.start()])))
        sigil, ident, label, url, url_label = match.groups()
        if sigil == "@" and ident:
            tokens.append(UserMention(ident, label or None))
        elif sigil == "#" and ident:
            tokens.append(ChannelMention(ident, label or None))
        elif sigil == "!" and ident.startswith(_SUBTEAM) and ident != _SUBTEAM:
            tokens.append(UsergroupMention(ident.removeprefix(_SUBTEAM), label or None))
        elif sigil == "!":
            # <!here>, <!channel>, <!date^...>: keep as text, never as a recipient.
            tokens.append(Text(unescape(label) if label else f"@{ident}"))
        elif url:
            tokens.append(Link(unescape(url), unescape(url_label) if url_label else None))
        else:
            tokens.append(Text(unescape(match.group(0))))
        pos = match.end()
    if pos < len(text):
        tokens.append(Text(unescape(text[pos:])))
    return tokens


def user_ids(text: str) -> list[str]:
    """Every user mentioned, in order, without repeats."""
    seen: dict[str, None] = {}
    for token in tokenize(text):
        if isinstance(token, UserMention):
            seen.setdefault(token.user_id)
    return list(seen)
