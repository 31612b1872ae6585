"""Rich text from a `rich_text_input`, to and from Slack's escaped mrkdwn.

Standup answers use `rich_text_input` rather than `plain_text_input`: a
plain input hands back exactly what was typed, so "@ana" stays four
characters and a mention of someone on the other team could never be
recognised or logged. A rich text input returns mentions as user ids.

Answers are stored as Slack's escaped mrkdwn (`<@U1>`, `&amp;`), the format
rituals.standup reads and the summary posts. The elements come from the
member's client and are not trusted: typed text is escaped, ids and emoji
names must have Slack's shape and links must be web or mail addresses
(rituals.slack_text), else they become plain text, so nothing a member sends
can become markup, and a typed or forged @here or @channel stays plain text
rather than notifying a channel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rituals.slack_text import (
    ChannelMention,
    Link,
    Text,
    UsergroupMention,
    UserMention,
    channel_mention,
    emoji,
    escape,
    link,
    tokenize,
    user_mention,
    usergroup_mention,
)

_BULLETS = ("•", "◦", "▪")
# Deeper lists than this are shown at this depth: the client offers far fewer levels.
_MAX_INDENT = 8


def input_to_mrkdwn(value: Mapping[str, Any]) -> str:
    """One input's submitted state (rich text or plain text) as escaped mrkdwn."""
    if value.get("type") == "plain_text_input":
        return escape(str(value.get("value") or ""))
    rich = value.get("rich_text_value")
    if not isinstance(rich, Mapping):
        return ""
    return to_mrkdwn(rich)


def to_mrkdwn(block: Mapping[str, Any]) -> str:
    """A rich_text block as mrkdwn: paragraphs, lists, quotes and code blocks kept."""
    parts = [_block_element(element) for element in _elements(block)]
    return "\n".join(part for part in parts if part.strip()).strip()


def _elements(value: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = value.get("elements")
    if not isinstance(found, Sequence):
        return []
    return [element for element in found if isinstance(element, Mapping)]


def _block_element(element: Mapping[str, Any]) -> str:
    kind = element.get("type")
    if kind == "rich_text_section":
        return _inline(_elements(element)).strip("\n")
    if kind == "rich_text_list":
        indent = _small_int(element.get("indent"), _MAX_INDENT)
        ordered = element.get("style") == "ordered"
        start = _small_int(element.get("offset"), 10_000)
        lines = []
        for number, item in enumerate(_elements(element), start=start + 1):
            marker = f"{number}." if ordered else _BULLETS[indent % len(_BULLETS)]
            text = _inline(_elements(item)).strip("\n").replace("\n", "\n" + "    " * (indent + 1))
            lines.append(f"{'    ' * indent}{marker} {text}")
        return "\n".join(lines)
    if kind == "rich_text_preformatted":
        return "```\n" + _inline(_elements(element), styled=False).strip("\n") + "\n```"
    if kind == "rich_text_quote":
        text = _inline(_elements(element)).strip("\n")
        return "\n".join(f"> {line}" for line in text.split("\n"))
    return ""


def _inline(elements: Sequence[Mapping[str, Any]], *, styled: bool = True) -> str:
    return "".join(_inline_element(element, styled) for element in elements)


def _inline_element(element: Mapping[str, Any], styled: bool) -> str:
    kind = element.get("type")
    if kind == "text":
        text = escape(str(element.get("text") or ""))
        return _styled(text, element.get("style")) if styled else text
    if kind == "link":
        url = str(element.get("url") or "").replace("|", "%7C")
        return link(url, str(element.get("text") or "") or None)
    if kind == "user" and element.get("user_id"):
        return user_mention(str(element["user_id"]))
    if kind == "usergroup" and element.get("usergroup_id"):
        return usergroup_mention(str(element["usergroup_id"]))
    if kind == "channel" and element.get("channel_id"):
        return channel_mention(str(element["channel_id"]))
    if kind == "emoji" and element.get("name"):
        return emoji(str(element["name"]), element.get("skin_tone"))
    if kind == "broadcast":
        return escape(f"@{element.get('range') or 'here'}")
    if kind == "date":
        return escape(str(element.get("fallback") or element.get("timestamp") or ""))
    if kind == "color":
        return escape(str(element.get("value") or ""))
    return ""


def _small_int(value: Any, ceiling: int) -> int:
    """A list's indent or offset as sent by the client, within 0..ceiling whatever it is."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return 0
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        return 0
    return min(int(text), ceiling)


def _styled(text: str, style: Any) -> str:
    """Wrap the text's non-blank core, since mrkdwn ignores `* bold*` with inner spaces."""
    if not isinstance(style, Mapping) or not text.strip():
        return text
    core = text.strip()
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    if style.get("code"):
        return f"{lead}`{core}`{trail}"
    for flag, mark in (("strike", "~"), ("italic", "_"), ("bold", "*")):
        if style.get(flag):
            core = f"{mark}{core}{mark}"
    return f"{lead}{core}{trail}"


def from_mrkdwn(text: str) -> dict[str, Any]:
    """Escaped mrkdwn as a rich_text block, to prefill an input: mentions and links stay live."""
    elements: list[dict[str, Any]] = []
    for token in tokenize(text):
        if isinstance(token, UserMention):
            elements.append({"type": "user", "user_id": token.user_id})
        elif isinstance(token, UsergroupMention):
            elements.append({"type": "usergroup", "usergroup_id": token.usergroup_id})
        elif isinstance(token, ChannelMention):
            elements.append({"type": "channel", "channel_id": token.channel_id})
        elif isinstance(token, Link):
            link: dict[str, Any] = {"type": "link", "url": token.url}
            if token.label:
                link["text"] = token.label
            elements.append(link)
        elif isinstance(token, Text) and token.text:
            elements.append({"type": "text", "text": token.text})
    return {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": elements}]}
