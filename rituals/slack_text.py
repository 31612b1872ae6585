"""Tokens of Slack's escaped message text, so parsers never see raw markup.

Slack sends slash-command text with mentions escaped (when the command is
created with `should_escape: true`): `<@U123|ana>`, `<!subteam^S123|@mkt>`,
`<#C123|joint>`, `<https://x|label>`, and `&amp;` `&lt;` `&gt;`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
