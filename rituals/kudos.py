"""Kudos: reading `/tandem kudos ...`, who may receive them, the daily allowance, the nudge.

Reading the command. Slack sends the text escaped (`<@U1|ana>`,
`<!subteam^S1|@it-team>`, `&amp;`). The recipients are the mentions at the
start; "to", "and" and commas between them are fine. The word "for" is the
separator: only its first occurrence counts, so "for for the launch" keeps
"for the launch" as the reason. When other words come before that "for"
("@ana thanks @ben for the launch"), every person or group mentioned before
it receives kudos and the words stay in the reason. Without a "for", only the
mentions at the start receive kudos. Mentions after the recipients stay in
the reason, still escaped, so Slack renders them when the reason is posted.

`#word` value tags (a letter, then letters, digits, - and _) are taken out
of the reason wherever they appear; "#1" is just text. The reason is the
Slack-escaped text that will be posted, and its length limit counts that
text. @here, @channel and @everyone are refused anywhere, because a posted
reason must never notify a whole channel. A channel mention is refused too:
among the recipients it is a wrong recipient, unless it is named like a
value; in the reason it is almost always a value tag that autocomplete
turned into a channel.

Who may receive them. A person named directly who cannot receive kudos
(the giver, a bot, a deactivated account, someone outside every team of the
partnership) refuses the whole command with every reason listed, so nothing
is posted half-way. Members reached only through a user group are quietly
left out instead, because naming "@it-team" should not fail when the giver
or a bot is in that group.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rituals.periods import day_start
from rituals.slack_text import (
    ChannelMention,
    Link,
    Text,
    Token,
    UsergroupMention,
    UserMention,
    escape,
    render,
    tokenize,
)
from rituals.zones import zone_or_default

MAX_REASON_LENGTH = 500
EXAMPLE = "`/tandem kudos @ana for the launch`"

# A value tag starts with a letter; "&" keeps entities such as "&#39;" out.
_VALUE_TAG = re.compile(r"(?<![\w&#/])#([^\W\d_][\w-]*)")
_BROADCAST = re.compile(r"(?<![\w.])@(here|channel|everyone)(?![\w-])", re.IGNORECASE)
_FOR = re.compile(r"(?<![\w-])for(?![\w-])", re.IGNORECASE)
_LEADING_FOR = re.compile(r"for(?![\w-])", re.IGNORECASE)
# What may sit between two recipients: "@ana, @ben and @cy", "to @ana".
_CONNECTORS = re.compile(r"(?:\s|[,;+&]|[:\-–—](?=\s|$)|(?:to|and)(?![\w-]))*", re.IGNORECASE)
# Punctuation that may open the reason after the names: "@ana: great work".
_LEADING_PUNCTUATION = re.compile(r"\A(?:\s|[,;]|[:\-–—](?=\s|$))*")
_UNRESOLVED_NAME = re.compile(r"^\s*@[\w.-]+")
_HORIZONTAL_SPACE = " \t"


# --- reading the command -----------------------------------------------------


class InvalidKudosCode(StrEnum):
    EMPTY = "empty"
    NO_RECIPIENTS = "no_recipients"
    BROADCAST_MENTION = "broadcast_mention"
    CHANNEL_RECIPIENT = "channel_recipient"
    CHANNEL_AS_VALUE = "channel_as_value"
    ONLY_MENTIONS = "only_mentions"
    NO_REASON = "no_reason"
    UNKNOWN_VALUE = "unknown_value"
    REASON_TOO_LONG = "reason_too_long"


@dataclass(frozen=True, slots=True)
class InvalidKudos:
    code: InvalidKudosCode
    message: str


@dataclass(frozen=True, slots=True)
class KudosDraft:
    """A valid command; the caller expands `usergroup_ids` into their members."""

    user_ids: tuple[str, ...]
    usergroup_ids: tuple[str, ...]
    reason: str
    values: tuple[str, ...]


def parse_kudos(
    text: str,
    allowed_values: Sequence[str],
    *,
    max_reason_length: int = MAX_REASON_LENGTH,
) -> KudosDraft | InvalidKudos:
    """Read the text after `kudos`; every mistake becomes a message, never an exception.

    `allowed_values` are the workspace's value names ("customer-first"; a
    leading # is ignored). Tags match them case-insensitively and come back
    spelled as configured.
    """
    if not text.strip():
        return InvalidKudos(
            InvalidKudosCode.EMPTY,
            "Who are the kudos for, and what for? "
            "Try `/tandem kudos @ana for the launch #customer-first`",
        )
    tokens = tokenize(text)
    broadcast = _broadcast_mention(tokens)
    if broadcast:
        return InvalidKudos(
            InvalidKudosCode.BROADCAST_MENTION,
            f"Kudos can't notify a whole channel ({broadcast}). "
            f"Name people or a user group instead, like {EXAMPLE}.",
        )
    tokens, tags = _take_value_tags(tokens)
    recipients, reason_tokens, separated = _split_recipients(tokens)

    channels = [t for t in recipients if isinstance(t, ChannelMention)]
    if channels and _names_a_value(channels[0], allowed_values):
        return InvalidKudos(
            InvalidKudosCode.CHANNEL_AS_VALUE,
            _channel_as_value_message(channels[0], allowed_values),
        )
    if channels:
        return InvalidKudos(
            InvalidKudosCode.CHANNEL_RECIPIENT,
            f"{render([channels[0]])} is a channel; kudos go to people or a user group, "
            f"like {EXAMPLE}.",
        )
    user_ids = tuple(dict.fromkeys(t.user_id for t in recipients if isinstance(t, UserMention)))
    group_ids = tuple(
        dict.fromkeys(t.usergroup_id for t in recipients if isinstance(t, UsergroupMention))
    )
    if not user_ids and not group_ids:
        return InvalidKudos(InvalidKudosCode.NO_RECIPIENTS, _no_recipients_message(tokens))

    channel = next((t for t in reason_tokens if isinstance(t, ChannelMention)), None)
    if channel is not None:
        return InvalidKudos(
            InvalidKudosCode.CHANNEL_AS_VALUE, _channel_as_value_message(channel, allowed_values)
        )

    reason = render(reason_tokens).strip()
    if not _says_something(reason_tokens):
        if not separated and not tags:
            return InvalidKudos(
                InvalidKudosCode.ONLY_MENTIONS,
                f"I only see names. Add what the kudos are for, like {EXAMPLE}.",
            )
        return InvalidKudos(
            InvalidKudosCode.NO_REASON,
            f"What did they do? Add a few words after the names, like {EXAMPLE}.",
        )

    values = _match_values(tags, allowed_values)
    if isinstance(values, InvalidKudos):
        return values

    if len(reason) > max_reason_length:
        return InvalidKudos(
            InvalidKudosCode.REASON_TOO_LONG,
            f"Your reason is {len(reason)} characters long; the limit is {max_reason_length}. "
            f"Could you trim {len(reason) - max_reason_length}?",
        )
    return KudosDraft(user_ids, group_ids, reason, values)


def _broadcast_mention(tokens: Iterable[Token]) -> str | None:
    for token in tokens:
        if isinstance(token, Text) and (match := _BROADCAST.search(token.text)):
            return f"@{match[1].lower()}"
    return None


def _take_value_tags(tokens: Sequence[Token]) -> tuple[list[Token], list[str]]:
    """The tokens with every `#tag` cut out of the plain text, and the tags in order."""
    kept: list[Token] = []
    tags: list[str] = []
    for token in tokens:
        if not isinstance(token, Text):
            kept.append(token)
            continue
        text = token.text
        for match in reversed(list(_VALUE_TAG.finditer(text))):
            tags.insert(0, match[1])
            start, end = match.span()
            while start > 0 and text[start - 1] in _HORIZONTAL_SPACE:
                start -= 1
            if start == 0 or text[start - 1] == "\n":
                while end < len(text) and text[end] in _HORIZONTAL_SPACE:
                    end += 1
            text = text[:start] + text[end:]
        if text:
            kept.append(Text(text))
    return kept, tags


def _split_recipients(tokens: Sequence[Token]) -> tuple[list[Token], list[Token], bool]:
    """(recipient mentions, reason tokens, whether a "for" separated them)."""
    recipients: list[Token] = []
    reason: list[Token] = []
    for index, token in enumerate(tokens):
        if isinstance(token, UserMention | UsergroupMention | ChannelMention):
            recipients.append(token)
            continue
        if isinstance(token, Text) and _CONNECTORS.fullmatch(token.text):
            continue
        reason = list(tokens[index:])
        break

    if reason and isinstance(reason[0], Text):
        opening = _LEADING_PUNCTUATION.sub("", reason[0].text, count=1)
        separator = _LEADING_FOR.match(opening)
        if separator:
            opening = _LEADING_PUNCTUATION.sub("", opening[separator.end() :], count=1)
        reason[0] = Text(opening)
        if separator:
            return recipients, reason, True

    later = _index_of_separator(reason)
    if later is not None:
        recipients += [
            t
            for t in reason[:later]
            if isinstance(t, UserMention | UsergroupMention | ChannelMention)
        ]
    return recipients, reason, later is not None


def _index_of_separator(tokens: Sequence[Token]) -> int | None:
    for index, token in enumerate(tokens):
        if isinstance(token, Text) and _FOR.search(token.text):
            return index
    return None


def _says_something(tokens: Iterable[Token]) -> bool:
    """A reason needs words, digits, emoji or a link; names and punctuation alone are not one."""
    for token in tokens:
        if isinstance(token, Link):
            return True
        if isinstance(token, Text) and any(_is_content(char) for char in token.text):
            return True
    return False


def _is_content(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LN" or category == "So"


def _no_recipients_message(tokens: Sequence[Token]) -> str:
    first = tokens[0] if tokens else None
    if isinstance(first, Text) and (name := _UNRESOLVED_NAME.match(first.text)):
        return (
            f"I couldn't match {escape(name[0].strip())} to anyone in Slack. "
            f"Pick people from the autocomplete list, like {EXAMPLE}."
        )
    return f"Who is it for? Try {EXAMPLE}"


def _channel_as_value_message(channel: ChannelMention, allowed_values: Sequence[str]) -> str:
    names = _value_names(allowed_values)
    label = (channel.label or "").lstrip("#")
    example = names.get(label.casefold()) or next(iter(names.values()), "customer-first")
    return (
        f"{render([channel])} looks like a channel; value tags are written like #{example} "
        "(type the tag and skip the channel suggestion)."
    )


def _names_a_value(channel: ChannelMention, allowed_values: Sequence[str]) -> bool:
    label = (channel.label or "").lstrip("#").casefold()
    return label in _value_names(allowed_values)


def _value_names(allowed_values: Sequence[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for value in allowed_values:
        name = value.strip().lstrip("#")
        if name:
            names.setdefault(name.casefold(), name)
    return names


def _match_values(
    tags: Sequence[str], allowed_values: Sequence[str]
) -> tuple[str, ...] | InvalidKudos:
    names = _value_names(allowed_values)
    matched = dict.fromkeys(names[t.casefold()] for t in tags if t.casefold() in names)
    unknown = list(dict.fromkeys(f"#{t}" for t in tags if t.casefold() not in names))
    if not unknown:
        return tuple(matched)
    listed = ", ".join(unknown)
    if not names:
        return InvalidKudos(
            InvalidKudosCode.UNKNOWN_VALUE,
            f"No values are set up for kudos here, so {listed} can't be used. "
            "Leave the tag out and send it again.",
        )
    noun = "value" if len(unknown) == 1 else "values"
    message = f"I don't know the {noun} {listed}. The values here are " + ", ".join(
        f"#{name}" for name in names.values()
    )
    close = difflib.get_close_matches(unknown[0][1:].casefold(), list(names), n=1, cutoff=0.6)
    if len(unknown) == 1 and close:
        message += f". Did you mean #{names[close[0]]}?"
    else:
        message += "."
    return InvalidKudos(InvalidKudosCode.UNKNOWN_VALUE, message)


# --- who may receive them ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    """A person the caller resolved from the draft.

    `team_id` is None when the person is in no team of the partnership;
    `via_usergroup` is True when they were reached only through a user group.
    """

    user_id: str
    is_bot: bool = False
    is_deleted: bool = False
    team_id: str | None = None
    via_usergroup: bool = False


_NOBODY_LEFT = "Nobody in that group can receive kudos from you here. Try naming people directly."


class Ineligibility(StrEnum):
    SELF = "self"
    BOT = "bot"
    DEACTIVATED = "deactivated"
    OUTSIDE_PARTNERSHIP = "outside_partnership"
    NOBODY_LEFT = "nobody_left"


@dataclass(frozen=True, slots=True)
class RecipientProblem:
    """Why one named person (or, with no user id, the whole group) cannot get these kudos."""

    reason: Ineligibility
    message: str
    user_id: str | None = None


def check_recipients(giver_id: str, recipients: Sequence[Recipient]) -> list[RecipientProblem]:
    """Every reason to refuse the command; an empty list means it may be posted."""
    refusals: list[RecipientProblem] = []
    for recipient in _unique(recipients):
        reason = _ineligibility(giver_id, recipient)
        if reason is not None and not recipient.via_usergroup:
            refusals.append(
                RecipientProblem(
                    reason, _refusal_text(reason, recipient.user_id), recipient.user_id
                )
            )
    if not refusals and not receivers(giver_id, recipients):
        refusals.append(RecipientProblem(Ineligibility.NOBODY_LEFT, _NOBODY_LEFT))
    return refusals


def receivers(giver_id: str, recipients: Sequence[Recipient]) -> tuple[str, ...]:
    """Who actually receives the kudos once the checks pass, each once, in order."""
    return tuple(r.user_id for r in _unique(recipients) if _ineligibility(giver_id, r) is None)


def refusal_message(refusals: Sequence[RecipientProblem]) -> str:
    """One reply listing every reason, because nothing is posted until all are fixed."""
    if len(refusals) == 1:
        return refusals[0].message
    return "I didn't post these kudos:\n" + "\n".join(f"• {r.message}" for r in refusals)


def _unique(recipients: Sequence[Recipient]) -> list[Recipient]:
    """One entry per person; being named directly wins over coming through a group."""
    by_id: dict[str, Recipient] = {}
    for recipient in recipients:
        known = by_id.get(recipient.user_id)
        if known is None or (known.via_usergroup and not recipient.via_usergroup):
            by_id[recipient.user_id] = recipient
    return list(by_id.values())


def _ineligibility(giver_id: str, recipient: Recipient) -> Ineligibility | None:
    if recipient.user_id == giver_id:
        return Ineligibility.SELF
    if recipient.is_deleted:
        return Ineligibility.DEACTIVATED
    if recipient.is_bot:
        return Ineligibility.BOT
    if recipient.team_id is None:
        return Ineligibility.OUTSIDE_PARTNERSHIP
    return None


def _refusal_text(reason: Ineligibility, user_id: str) -> str:
    who = f"<@{user_id}>"
    return {
        Ineligibility.SELF: "You can't give kudos to yourself, but it's great that you're "
        "proud of your work!",
        Ineligibility.BOT: f"{who} is a bot; kudos are for people.",
        Ineligibility.DEACTIVATED: f"{who} has left the workspace.",
        Ineligibility.OUTSIDE_PARTNERSHIP: f"{who} isn't in any team of this partnership.",
    }[reason]


def is_cross_team(giver_team_id: str | None, receiver_team_id: str | None) -> bool:
    """Both in a team of the partnership, and not the same one."""
    return None not in (giver_team_id, receiver_team_id) and giver_team_id != receiver_team_id


# --- the daily allowance ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Allowance:
    """How many kudos the giver has left today, in their own time zone.

    `exempt` means this command is cross-team and the workspace lets
    cross-team kudos through whatever the count.
    """

    limit: int
    given_today: int
    remaining: int
    resets_at: datetime
    resets_in: timedelta
    exempt: bool

    def allows(self, count: int = 1) -> bool:
        return self.exempt or count <= self.remaining

    def refusal_message(self, count: int = 1) -> str:
        resets = f"It resets at midnight (in {_duration(self.resets_in)})."
        if self.remaining == 0:
            return f"You've given {self.given_today} kudos today, your daily limit. {resets}"
        return (
            f"That's {count} kudos, but you have {self.remaining} left today "
            f"(your daily limit is {self.limit}). {resets}"
        )


def allowance_status(
    given_today: int,
    limit: int,
    giver_tz: str,
    now: datetime,
    cross_team: bool,
    cross_team_exempt: bool,
    *,
    default_tz: str = "UTC",
) -> Allowance:
    """`given_today` counts the kudos that count against the limit, over `local_day_bounds`."""
    _, resets_at = local_day_bounds(giver_tz, now, default_tz=default_tz)
    return Allowance(
        limit=limit,
        given_today=given_today,
        remaining=max(0, limit - given_today),
        resets_at=resets_at,
        resets_in=resets_at - now,
        exempt=cross_team and cross_team_exempt,
    )


def local_day_bounds(
    tz: str, now: datetime, *, default_tz: str = "UTC"
) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local calendar day containing `now`; 23 h or 25 h on DST days.

    An unknown `tz` falls back to `default_tz`, then to UTC.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    zone, _ = zone_or_default(tz, default_tz)
    day = now.astimezone(zone).date()
    start, end = day_start(day, zone), day_start(day + timedelta(days=1), zone)
    if now >= end:  # a clock set back across midnight repeats the end of the day
        start, end = end, day_start(day + timedelta(days=2), zone)
    return start, end


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds()) // 60
    if minutes < 1:
        return "less than a minute"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


# --- the weekly nudge -------------------------------------------------------------


def should_nudge(already_gave_cross_team_this_week: bool, opted_out: bool, away: bool) -> bool:
    """Nudge only people who have not yet thanked the other team this week and want nudges."""
    return not (already_gave_cross_team_this_week or opted_out or away)


class WorkTie(StrEnum):
    """How a member worked with someone from the other team, strongest first."""

    SHADOWING_PARTNER = "shadowing_partner"
    ANSWERED_ASK = "answered_ask"
    MENTIONED = "mentioned"


_TIE_STRENGTH = {WorkTie.SHADOWING_PARTNER: 3, WorkTie.ANSWERED_ASK: 2, WorkTie.MENTIONED: 1}


@dataclass(frozen=True, slots=True)
class Suggestion:
    user_id: str
    tie: WorkTie
    at: datetime


def suggest_people(candidates: Sequence[Suggestion], limit: int = 5) -> list[str]:
    """People to thank: strongest tie first, then the most recent, each once."""
    best: dict[str, tuple[int, datetime]] = {}
    for candidate in candidates:
        key = (_TIE_STRENGTH[candidate.tie], candidate.at)
        if candidate.user_id not in best or key > best[candidate.user_id]:
            best[candidate.user_id] = key
    # Sorting the ids first keeps equal ties in a stable, readable order.
    ranked = sorted(sorted(best), key=best.__getitem__, reverse=True)
    return ranked[: max(0, limit)]
