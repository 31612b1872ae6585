"""Kudos between teams: giving them, +1s, your own stats and the weekly prompt.

Which partnership. Kudos belong to the giver's partnership (through the
teams they are in now). Someone in several partnerships gives in the one
whose joint channel they typed the command in (or opened the form from),
else in the oldest one. Kudos are always posted in that partnership's joint
channel.

Nothing half-way. Everything that needs Slack (expanding user groups, asking
about people Tandem has never seen, checking that the bot is in the joint
channel) is read first; only then is the kudos written, in one transaction
with its recipients, their interactions and the outbox row that posts it.

+1s. Anyone who sees the post may add a +1, once. The giver and the
receivers are told kindly that their voice is already in it (the giver) or
that the kudos are for them (a receiver), and nothing is logged: a +1 is a
third person's agreement.

The monthly leaderboard is off unless an admin turns `kudos_leaderboard`
on: then the monthly digest run also posts last month's most thanked people
in the joint channel, once per month, and nothing when nobody was thanked.

The weekly prompt (ritual kind kudos_prompt, by default Thursday 15:00 in
each member's own time zone) asks each member about the other team. It
skips whoever already gave cross-team kudos since Monday (their local
week), opted out of kudos ("kudos" or "kudos_prompt" in their opt-outs) or
is away. The admin-editable settings are described in storage.kudos.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.commands import CommandRequest, Reply
from bot.services import Services
from bot.slack_directory import profile_from_user, usergroup_user_ids
from bot.views.common import notice
from bot.views.kudos import (
    ModalContext,
    Person,
    PostContent,
    PromptPicker,
    kudos_leaderboard,
    kudos_modal,
    kudos_post,
    kudos_prompt,
    kudos_stats,
)
from rituals.interactions import RitualKind
from rituals.kudos import (
    InvalidKudos,
    InvalidKudosCode,
    Recipient,
    Suggestion,
    allowance_status,
    check_recipients,
    is_cross_team,
    local_day_bounds,
    parse_kudos,
    receivers,
    refusal_message,
    should_nudge,
    suggest_people,
)
from rituals.periods import month_around
from rituals.refusal import Refusal
from rituals.run_report import RunReport
from rituals.slack_text import escape, user_mention
from rituals.zones import zone_or_default
from storage import kudos as store
from storage.db import transaction
from storage.occurrences import WonOccurrence
from storage.org import (
    RosterEntry,
    find_member,
    partnership_roster,
    partnership_team_names,
    upsert_members,
)
from storage.outbox import OutboundCall, direct_message, enqueue, from_parent
from storage.rituals import RitualSnapshot

log = logging.getLogger(__name__)

OPT_OUT_NAMES = frozenset({"kudos", RitualKind.KUDOS_PROMPT.value})
SUGGESTION_LOOKBACK = timedelta(days=28)
MAX_SUGGESTIONS = 5

NO_PARTNERSHIP = (
    "You're not in a team of any Tandem partnership yet, so there's no joint channel "
    "to post kudos in."
)
NO_PARTNERSHIP_HINT = (
    "Ask a Tandem admin to add your team (`/tandem admin team add …`) to a partnership."
)


class Field(StrEnum):
    """Which part of the form a refusal is about."""

    RECIPIENTS = "recipients"
    REASON = "reason"
    VALUES = "values"


@dataclass(frozen=True, slots=True)
class Posted:
    kudos_id: int
    channel_id: str
    receiver_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GiveRequest:
    workspace_id: int
    giver_id: str
    channel_id: str  # where the command was typed or the form was opened
    text: str  # Slack-escaped, as after `/tandem kudos`
    link: str | None = None
    partnership_id: int | None = None  # the form's choice, kept when still valid


_FIELD_OF_ERROR = {
    InvalidKudosCode.EMPTY: Field.RECIPIENTS,
    InvalidKudosCode.NO_RECIPIENTS: Field.RECIPIENTS,
    InvalidKudosCode.CHANNEL_RECIPIENT: Field.RECIPIENTS,
    InvalidKudosCode.BROADCAST_MENTION: Field.REASON,
    InvalidKudosCode.CHANNEL_AS_VALUE: Field.REASON,
    InvalidKudosCode.ONLY_MENTIONS: Field.REASON,
    InvalidKudosCode.NO_REASON: Field.REASON,
    InvalidKudosCode.REASON_TOO_LONG: Field.REASON,
    InvalidKudosCode.UNKNOWN_VALUE: Field.VALUES,
}


def choose_partnership(
    session: Session,
    workspace_id: int,
    user_id: str,
    channel_id: str,
    preferred_id: int | None = None,
) -> store.PartnershipRef | None:
    """The preferred one if the person is still in it, else the channel's, else the oldest."""
    found = store.member_partnerships(session, workspace_id, user_id)
    preferred = [p for p in found if p.id == preferred_id]
    here = [p for p in found if p.channel_id == channel_id]
    return next(iter(preferred + here + found), None)


def form_text(user_ids: Sequence[str], reason: str, values: Sequence[str]) -> str:
    """What the form's fields would look like as a command, so both go through one parser."""
    people = " ".join(user_mention(u) for u in user_ids)
    tags = " ".join(f"#{v}" for v in values)
    return f"{people} for {escape(reason.strip())} {tags}".strip()


_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]*))?>")


def plain(message: str, names: dict[str, str] | None = None) -> str:
    """A message without Slack markup, for places that show plain text (form errors)."""
    known = names or {}

    def name(match: re.Match[str]) -> str:
        return "@" + (match[2] or known.get(match[1]) or match[1])

    return _MENTION.sub(name, message).replace("`", "")


# How long a joint channel the bot was found to be in is trusted without asking Slack again:
# kudos are answered in the request, and Slack's answer costs the member a round trip.
CHANNEL_CHECK_TTL_SECONDS = 60.0


class KudosService:
    """Everything kudos do; the listeners and the `/tandem kudos` command call into it."""

    def __init__(self, services: Services, clock: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self._clock = clock
        self._channel_seen: dict[str, float] = {}
        self._lock = threading.Lock()

    # --- /tandem kudos ---------------------------------------------------------

    def __call__(self, req: CommandRequest) -> Reply:
        text = req.text.strip()
        if not text:
            return self._open_form_for_command(req)
        if text.lower() == "stats":
            return self.stats(req.workspace_id, req.user_id, utcnow())
        result = self.give(
            req.client,
            GiveRequest(req.workspace_id, req.user_id, req.channel_id, text),
            utcnow(),
        )
        if isinstance(result, Refusal):
            return notice(result.message, hint=result.hint)
        return notice(
            f"Thanks! Your kudos are on their way to <#{result.channel_id}>.",
            hint="Others can add a +1 to them there.",
        )

    def _open_form_for_command(self, req: CommandRequest) -> Reply:
        view = self.form(req.workspace_id, req.user_id, req.channel_id)
        if isinstance(view, Refusal):
            return notice(view.message, hint=view.hint)
        try:
            req.client.views_open(trigger_id=req.trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("kudos form did not open: %s", exc.response.get("error"))
            return notice(
                "I couldn't open the kudos form just now.",
                hint="You can also type `/tandem kudos @ana for the launch`.",
            )
        return None

    # --- the form --------------------------------------------------------------

    def form(
        self,
        workspace_id: int,
        user_id: str,
        channel_id: str,
        *,
        initial_users: Sequence[str] = (),
        link: str | None = None,
        partnership_id: int | None = None,
    ) -> dict[str, object] | Refusal:
        """The kudos form for this person, or why they cannot give kudos."""
        with self.services.sessions() as session:
            partnership = choose_partnership(
                session, workspace_id, user_id, channel_id, partnership_id
            )
        if partnership is None:
            return Refusal(NO_PARTNERSHIP, hint=NO_PARTNERSHIP_HINT)
        context = ModalContext(partnership.id, channel_id, link)
        return kudos_modal(
            context,
            channel_id=partnership.channel_id,
            values=partnership.kudos.values,
            initial_users=[u for u in initial_users if u != user_id],
        )

    # --- giving ----------------------------------------------------------------

    def give(self, client: WebClient, request: GiveRequest, now: datetime) -> Posted | Refusal:
        """Check everything, then write the kudos and its post in one transaction."""
        with self.services.sessions() as session:
            partnership = choose_partnership(
                session,
                request.workspace_id,
                request.giver_id,
                request.channel_id,
                request.partnership_id,
            )
        if partnership is None:
            return Refusal(NO_PARTNERSHIP, hint=NO_PARTNERSHIP_HINT)
        settings = partnership.kudos
        draft = parse_kudos(request.text, settings.values)
        if isinstance(draft, InvalidKudos):
            return Refusal(draft.message, field=_FIELD_OF_ERROR[draft.code])

        group_members: dict[str, list[str]] = {}
        for group_id in draft.usergroup_ids:
            try:
                group_members[group_id] = usergroup_user_ids(client, group_id)
            except SlackApiError as exc:
                log.info("usergroup %s unreadable: %s", group_id, exc.response.get("error"))
                return Refusal(
                    f"I couldn't read the members of <!subteam^{group_id}>. "
                    "Name the people instead, or ask an admin to check the group."
                )
        everyone = {request.giver_id, *draft.user_ids}
        everyone.update(u for members in group_members.values() for u in members)
        with self.services.sessions() as session:
            known = store.known_people(session, request.workspace_id, partnership.id, everyone)
            teams = partnership_team_names(session, partnership.id)
        giver = known.get(request.giver_id)
        if giver is None or giver.team_id is None:
            return Refusal(NO_PARTNERSHIP, hint=NO_PARTNERSHIP_HINT)

        resolved = self._recipients(client, draft.user_ids, group_members, known)
        if isinstance(resolved, Refusal):
            return resolved
        names = {p.slack_user_id: p.display_name for p in known.values() if p.display_name}
        refusals = check_recipients(request.giver_id, resolved)
        if refusals:
            return Refusal(refusal_message(refusals), names=names)
        chosen = [known[u] for u in receivers(request.giver_id, resolved)]

        channel_problem = self._joint_channel_problem(client, partnership.channel_id)
        if channel_problem is not None:
            return channel_problem

        counted = [
            p
            for p in chosen
            if not (settings.cross_team_exempt and _crosses(giver.team_id, p.team_id))
        ]
        tz = giver.tz or self.services.settings.default_timezone
        default_tz = self.services.settings.default_timezone
        start, end = local_day_bounds(tz, now, default_tz=default_tz)
        with transaction(self.services.sessions) as session:
            store.hold_giver(session, giver.member_id)
            given_today = store.counted_today(
                session, giver.member_id, start, end, cross_team_exempt=settings.cross_team_exempt
            )
            allowance = allowance_status(
                given_today,
                settings.daily_limit,
                tz,
                now,
                cross_team=not counted,
                cross_team_exempt=settings.cross_team_exempt,
                default_tz=default_tz,
            )
            if not allowance.allows(len(counted)):
                return Refusal(allowance.refusal_message(len(counted)))
            kudos_id = store.add_kudos(
                session,
                store.NewKudos(
                    workspace_id=request.workspace_id,
                    partnership_id=partnership.id,
                    giver_member_id=giver.member_id,
                    giver_team_id=giver.team_id,
                    reason=draft.reason,
                    values=draft.values,
                    receivers=[store.Receiver(p.member_id, p.team_id) for p in chosen],
                    created_at=now,
                    source_link=request.link,
                ),
            )
            content = PostContent(
                kudos_id=kudos_id,
                giver_id=request.giver_id,
                receiver_ids=tuple(p.slack_user_id for p in chosen),
                reason=draft.reason,
                values=draft.values,
                cross_team=cross_team_label(giver.team_id, [p.team_id for p in chosen], teams),
                link=request.link,
            )
            key = post_key(kudos_id)
            enqueue(
                session,
                OutboundCall(
                    idempotency_key=key,
                    method="chat.postMessage",
                    payload={"channel": partnership.channel_id, **kudos_post(content)},
                    channel_key=partnership.channel_id,
                ),
                now,
                request.workspace_id,
            )
            store.set_post_key(session, kudos_id, key)
        return Posted(kudos_id, partnership.channel_id, content.receiver_ids)

    @staticmethod
    def _recipients(
        client: WebClient,
        user_ids: Sequence[str],
        group_members: dict[str, list[str]],
        known: dict[str, store.KnownPerson],
    ) -> list[Recipient] | Refusal:
        """Who the draft names, as the domain sees them; people Tandem never saw are asked about."""
        recipients: list[Recipient] = []
        unknown: list[str] = []
        for user_id in user_ids:
            person = known.get(user_id)
            if person is not None:
                recipients.append(
                    Recipient(user_id, person.is_bot, person.is_deleted, _team_key(person.team_id))
                )
                continue
            try:
                profile = profile_from_user(client.users_info(user=user_id)["user"])
            except SlackApiError as exc:
                if exc.response.get("error") in ("user_not_found", "user_not_visible"):
                    unknown.append(user_id)
                    continue
                raise
            recipients.append(Recipient(user_id, profile.is_bot, profile.is_deleted, None))
        if unknown:
            listed = ", ".join(f"<@{u}>" for u in unknown)
            return Refusal(
                f"I can't find {listed} in this workspace. "
                "Pick people from the autocomplete list, like `/tandem kudos @ana for the launch`."
            )
        for members in group_members.values():
            for user_id in members:
                person = known.get(user_id)
                recipients.append(
                    Recipient(
                        user_id,
                        is_bot=person.is_bot if person else False,
                        is_deleted=person.is_deleted if person else False,
                        team_id=_team_key(person.team_id) if person else None,
                        via_usergroup=True,
                    )
                )
        return recipients

    def _joint_channel_problem(self, client: WebClient, channel_id: str) -> Refusal | None:
        """`_channel_problem`, remembering for a minute a channel the bot was found in."""
        with self._lock:
            seen = self._channel_seen.get(channel_id)
        if seen is not None and self._clock() - seen < CHANNEL_CHECK_TTL_SECONDS:
            return None
        asked_at = self._clock()
        problem = self._channel_problem(client, channel_id)
        with self._lock:
            if problem is None:
                self._channel_seen[channel_id] = asked_at
            else:
                self._channel_seen.pop(channel_id, None)
        return problem

    @staticmethod
    def _channel_problem(client: WebClient, channel_id: str) -> Refusal | None:
        """Why the bot cannot post in the joint channel, checked before anything is written."""
        try:
            channel = client.conversations_info(channel=channel_id)["channel"]
        except SlackApiError as exc:
            log.info("joint channel %s unreadable: %s", channel_id, exc.response.get("error"))
            return Refusal(
                f"I can't see the partnership's channel <#{channel_id}>, so I didn't post "
                "your kudos. Ask an admin to check the partnership's channel."
            )
        if not channel.get("is_member"):
            return Refusal(
                f"I'm not in <#{channel_id}> yet, so I didn't post your kudos.",
                hint=f"Invite me with `/invite @Tandem` in <#{channel_id}>, then send them again.",
            )
        return None

    # --- +1 --------------------------------------------------------------------

    def second(
        self, client: WebClient, workspace_id: int, user_id: str, kudos_id: int, now: datetime
    ) -> str | None:
        """Add this person's +1; a kind sentence when there is nothing to add, else None."""
        with self.services.sessions() as session:
            record = store.get_kudos(session, kudos_id)
            if record is None or record.workspace_id != workspace_id:
                return "I can't find these kudos any more."
            known = store.known_people(session, workspace_id, record.partnership_id, [user_id])
        refusal = _second_refusal(record, user_id)
        if refusal is not None:
            return refusal
        if user_id not in known:
            try:
                profile = profile_from_user(client.users_info(user=user_id)["user"])
            except SlackApiError:
                return "Sorry, I couldn't add your +1 just now. Please try again."
            with transaction(self.services.sessions) as session:
                upsert_members(session, workspace_id, [profile], now)
                known = store.known_people(session, workspace_id, record.partnership_id, [user_id])
        seconder = known[user_id]
        with transaction(self.services.sessions) as session:
            record = store.get_kudos(session, kudos_id, lock=True)
            assert record is not None
            added = store.add_second(session, record, seconder.member_id, seconder.team_id, now)
            if not added:
                return "You already +1'd this. Thanks for the enthusiasm!"
            count = store.second_count(session, kudos_id)
            if record.post_key is not None:
                teams = partnership_team_names(session, record.partnership_id)
                enqueue(
                    session,
                    _post_update(record, count, teams),
                    now,
                    workspace_id,
                )
        return None

    # --- stats -----------------------------------------------------------------

    def stats(self, workspace_id: int, user_id: str, now: datetime) -> Reply:
        default_tz = self.services.settings.default_timezone
        with self.services.sessions() as session:
            member = find_member(session, workspace_id, user_id)
            if member is None:
                return notice(
                    "You haven't given or received any kudos yet.",
                    hint="Try `/tandem kudos @ana for the launch`.",
                )
            tz = member.tz or default_tz
            start, end = month_around(now, _zone(tz, default_tz))
            stats = store.month_stats(session, member.id, start, end)
        month = now.astimezone(_zone(tz, default_tz)).strftime("%B %Y")
        return kudos_stats(stats, month)


def _second_refusal(record: store.KudosRecord, user_id: str) -> str | None:
    if user_id == record.giver_slack_user_id:
        return "You gave these kudos, so your voice is already in them. Thank you for giving them!"
    if any(r.slack_user_id == user_id for r in record.receivers):
        return "These kudos are for you, so there's nothing to +1. Enjoy them!"
    return None


def _team_key(team_id: int | None) -> str | None:
    """Team ids as the domain spells them."""
    return None if team_id is None else str(team_id)


def _crosses(giver_team: int | None, receiver_team: int | None) -> bool:
    return is_cross_team(_team_key(giver_team), _team_key(receiver_team))


def post_key(kudos_id: int) -> str:
    return f"kudos:{kudos_id}:post"


def update_key(kudos_id: int, seconds: int) -> str:
    """One chat.update per count, so a retried +1 never updates twice with the same count."""
    return f"kudos:{kudos_id}:seconds:{seconds}"


def _post_update(record: store.KudosRecord, seconds: int, teams: dict[int, str]) -> OutboundCall:
    assert record.post_key is not None
    content = PostContent(
        kudos_id=record.id,
        giver_id=record.giver_slack_user_id,
        receiver_ids=tuple(r.slack_user_id for r in record.receivers),
        reason=record.reason,
        values=record.values,
        cross_team=cross_team_label(
            record.giver_team_id, [r.team_id for r in record.receivers], teams
        ),
        link=record.source_link,
    )
    return OutboundCall(
        idempotency_key=update_key(record.id, seconds),
        method="chat.update",
        payload={
            "channel": record.channel_id,
            "ts": from_parent("ts"),
            **kudos_post(content, seconds),
        },
        channel_key=record.channel_id,
        parent_key=record.post_key,
    )


def cross_team_label(
    giver_team: int | None, receiver_teams: Sequence[int | None], teams: dict[int, str]
) -> str | None:
    """ "Marketing thanks IT" when any receiver is in another team than the giver, else None.

    Words, not an arrow: the balance counts a thank-you as given by the person
    thanked, so an arrow from the thanking team would run against the digest's.
    """
    others = [t for t in dict.fromkeys(receiver_teams) if t is not None and _crosses(giver_team, t)]
    if not others or giver_team is None:
        return None
    names = [teams.get(t, "another team") for t in others]
    thanked = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{teams.get(giver_team, 'one team')} thanks {thanked}"


# --- time ---------------------------------------------------------------------------


def _zone(tz: str, default_tz: str) -> ZoneInfo:
    return zone_or_default(tz, default_tz)[0]


def week_start(tz: str, now: datetime, *, default_tz: str = "UTC") -> datetime:
    """The start (UTC) of Monday of the local week containing `now`."""
    today, _ = local_day_bounds(tz, now, default_tz=default_tz)
    weekday = now.astimezone(_zone(tz, default_tz)).weekday()
    # Noon of that Monday is inside it whatever DST did during the week.
    monday_noon = today - timedelta(days=weekday) + timedelta(hours=12)
    return local_day_bounds(tz, monday_noon, default_tz=default_tz)[0]


# --- the optional monthly leaderboard ------------------------------------------------

LEADERBOARD_SIZE = 5


def leaderboard_key(partnership_id: int, month_key: str) -> str:
    return f"kudos-leaderboard:{partnership_id}:{month_key}"


def queue_leaderboard(
    session: Session,
    partnership_id: int,
    month_key: str,
    month_label: str,
    bounds: tuple[datetime, datetime],
    now: datetime,
) -> bool:
    """Queue the month's leaderboard for the joint channel if the partnership turned it on.

    `month_key` (YYYY-MM) keys the post, so a re-run of the digest never
    posts it twice. Returns whether a new post was queued.
    """
    partnership = store.get_partnership(session, partnership_id)
    if partnership is None or not partnership.kudos.leaderboard or not partnership.channel_id:
        return False
    board = store.leaderboard(session, partnership_id, *bounds, limit=LEADERBOARD_SIZE)
    if board.is_empty:
        return False
    channel = partnership.channel_id
    call = OutboundCall(
        idempotency_key=leaderboard_key(partnership_id, month_key),
        method="chat.postMessage",
        payload={"channel": channel, **kudos_leaderboard(board, month_label)},
        channel_key=channel,
    )
    return enqueue(session, call, now, partnership.workspace_id) > 0


# --- the weekly prompt ------------------------------------------------------------


def build_kudos_prompts(
    session: Session, ritual: RitualSnapshot, occurrences: list[WonOccurrence], now: datetime
) -> RunReport:
    """The ritual builder: one DM per member still to nudge, written to the outbox.

    Returns how many were nudged and how many were skipped, by reason.
    """
    report = RunReport()
    roster = [e for e in partnership_roster(session, ritual.partnership_id) if e.active]
    by_member = {e.member_id: e for e in roster}
    targets: list[tuple[WonOccurrence, RosterEntry, str]] = []
    for occurrence in occurrences:
        if occurrence.member_id is None:  # run by hand: everyone, each in their own zone
            targets += [(occurrence, e, e.tz or occurrence.tz) for e in roster]
        elif (entry := by_member.get(occurrence.member_id)) is not None:
            targets.append((occurrence, entry, occurrence.tz))
    if not targets:
        return report
    teams = partnership_team_names(session, ritual.partnership_id)
    week_starts = {tz: week_start(tz, now) for tz in {tz for _, _, tz in targets}}
    gave = store.cross_team_givers_since(session, ritual.partnership_id, min(week_starts.values()))
    ties: dict[int, list[store.WorkedWith]] = defaultdict(list)
    for tie in store.worked_with_since(session, ritual.partnership_id, now - SUGGESTION_LOOKBACK):
        ties[tie.member_id].append(tie)
    sides: dict[int, _OtherSide] = {}

    calls: list[OutboundCall] = []
    for occurrence, entry, tz in targets:
        local_today = now.astimezone(_zone(tz, "UTC")).date()
        last_gave = gave.get(entry.member_id)
        already_gave = last_gave is not None and last_gave >= week_starts[tz]
        opted_out = bool(OPT_OUT_NAMES.intersection(entry.opted_out))
        away = entry.away_until is not None and entry.away_until >= local_today
        if not should_nudge(
            already_gave_cross_team_this_week=already_gave, opted_out=opted_out, away=away
        ):
            report.skip(
                "opted out of kudos prompts"
                if opted_out
                else "away"
                if away
                else "already thanked the other team this week"
            )
            continue
        if entry.team_id not in sides:
            sides[entry.team_id] = _OtherSide.of(entry.team_id, roster, teams)
        side = sides[entry.team_id]
        if not side.slack_ids:
            report.skip("nobody in the other team to thank")
            continue
        report.reached += 1
        suggested = suggest_people(
            [
                Suggestion(side.slack_ids[t.other_member_id], t.tie, t.at)
                for t in ties.get(entry.member_id, ())
                if t.other_member_id in side.slack_ids
            ],
            MAX_SUGGESTIONS,
        )
        message = kudos_prompt(
            partnership_id=ritual.partnership_id, picker=side.picker, suggested=suggested
        )
        calls.append(
            direct_message(
                f"kudos-prompt:{occurrence.id}:{entry.member_id}", entry.slack_user_id, message
            )
        )
    enqueue(session, calls, now, ritual.workspace_id)
    return report


@dataclass(frozen=True, slots=True)
class _OtherSide:
    """Everyone a member of one team may thank through the prompt, worked out once per team."""

    picker: PromptPicker
    slack_ids: dict[int, str]  # member id -> Slack id

    @classmethod
    def of(cls, team_id: int, roster: Sequence[RosterEntry], teams: dict[int, str]) -> _OtherSide:
        others = [e for e in roster if e.team_id != team_id]
        other_teams = [name for other_id, name in teams.items() if other_id != team_id]
        people = [Person(e.slack_user_id, e.display_name or e.slack_user_id) for e in others]
        return cls(
            picker=PromptPicker.of(" or ".join(other_teams) or "the other team", people),
            slack_ids={e.member_id: e.slack_user_id for e in others},
        )
