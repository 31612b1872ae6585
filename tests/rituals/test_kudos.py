from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rituals.kudos import (
    MAX_REASON_LENGTH,
    Ineligibility,
    InvalidKudos,
    InvalidKudosCode,
    KudosDraft,
    Recipient,
    Suggestion,
    WorkTie,
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

VALUES = ("customer-first", "ownership", "Curiosity")
NEW_YORK = "America/New_York"


def draft(text: str, values: tuple[str, ...] = VALUES) -> KudosDraft:
    result = parse_kudos(text, values)
    assert isinstance(result, KudosDraft), result
    return result


def error(text: str, values: tuple[str, ...] = VALUES) -> InvalidKudos:
    result = parse_kudos(text, values)
    assert isinstance(result, InvalidKudos), result
    assert result.message
    return result


# --- parsing: what is accepted --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "users", "groups", "reason", "values"),
    [
        (
            "<@U123|ana> <@U456|ben> for the campaign launch #customer-first",
            ("U123", "U456"),
            (),
            "the campaign launch",
            ("customer-first",),
        ),
        (
            "<!subteam^S123|@it-team> thanks for the migration :tada: #ownership",
            (),
            ("S123",),
            "thanks for the migration :tada:",
            ("ownership",),
        ),
        ("<@U123> for the launch", ("U123",), (), "the launch", ()),
        ("<!subteam^S9> for keeping us online", (), ("S9",), "keeping us online", ()),
        ("<@U1|ana> <!subteam^S2|@it> for the cutover", ("U1",), ("S2",), "the cutover", ()),
        ("<@U1>, <@U2> and <@U3> for the docs", ("U1", "U2", "U3"), (), "the docs", ()),
        ("to <@U1> for the docs", ("U1",), (), "the docs", ()),
        ("<@U1> FOR the docs", ("U1",), (), "the docs", ()),
        ("<@U1> <@U1|ana> for the docs", ("U1",), (), "the docs", ()),
        ("<@U1> for for the launch", ("U1",), (), "for the launch", ()),
        ("<@U1> for helping <@U02|bo> with QA", ("U1",), (), "helping <@U02|bo> with QA", ()),
        (
            "thanks <@U01> and <@U02> for QA",
            ("U01", "U02"),
            (),
            "thanks <@U01> and <@U02> for QA",
            (),
        ),
        ("<@U1> helped <@U02> ship it", ("U1",), (), "helped <@U02> ship it", ()),
        ("<@U1> to thank you", ("U1",), (), "to thank you", ()),
        ("<@U1>: great work!", ("U1",), (), "great work!", ()),
        ("<@U1> for R&amp;D &lt;3 &gt; all", ("U1",), (), "R&amp;D &lt;3 &gt; all", ()),
        (
            "<@U1> for <https://x.example/doc?a=1&amp;b=2|the runbook>",
            ("U1",),
            (),
            "<https://x.example/doc?a=1&amp;b=2|the runbook>",
            (),
        ),
        (
            "<@U1>\nfor the launch\nand the docs\n#ownership",
            ("U1",),
            (),
            "the launch\nand the docs",
            ("ownership",),
        ),
        ("   <@U1>   for   the launch   ", ("U1",), (), "the launch", ()),
        (
            "<@U1> for l'accueil des équipes 🎉 #Curiosity",
            ("U1",),
            (),
            "l'accueil des équipes 🎉",
            ("Curiosity",),
        ),
        ("<@U1> great #Ownership work", ("U1",), (), "great work", ("ownership",)),
        (
            "<@U1> #ownership #OWNERSHIP #customer-first for it",
            ("U1",),
            (),
            "it",
            ("ownership", "customer-first"),
        ),
        ("<@U1> for making us #1 in C# &#39;24", ("U1",), (), "making us #1 in C# &amp;#39;24", ()),
        ("<@U1> for the for-profit pilot", ("U1",), (), "the for-profit pilot", ()),
        ("<@U1> for 🎉", ("U1",), (), "🎉", ()),
    ],
)
def test_accepted_shapes(
    text: str,
    users: tuple[str, ...],
    groups: tuple[str, ...],
    reason: str,
    values: tuple[str, ...],
) -> None:
    assert draft(text) == KudosDraft(users, groups, reason, values)


def test_allowed_values_may_be_written_with_a_hash() -> None:
    assert draft("<@U1> for it #ownership", ("#Ownership",)).values == ("Ownership",)


def test_a_reason_at_the_limit_is_accepted() -> None:
    reason = "a" * MAX_REASON_LENGTH
    assert draft(f"<@U1> for {reason} #ownership").reason == reason


def test_the_limit_is_configurable() -> None:
    result = parse_kudos("<@U1> for the launch", VALUES, max_reason_length=5)
    assert isinstance(result, InvalidKudos)
    assert result.code is InvalidKudosCode.REASON_TOO_LONG
    assert "10 characters" in result.message
    assert "limit is 5" in result.message


# --- parsing: what is refused ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "hint"),
    [
        ("", InvalidKudosCode.EMPTY, "/tandem kudos @ana"),
        ("   \n  ", InvalidKudosCode.EMPTY, "/tandem kudos @ana"),
        ("for the launch", InvalidKudosCode.NO_RECIPIENTS, "Who is it for?"),
        ("@ana for the launch", InvalidKudosCode.NO_RECIPIENTS, "@ana"),
        ("<@U1>", InvalidKudosCode.ONLY_MENTIONS, "only see names"),
        ("<@U1|ana>, <!subteam^S1|@it> and ", InvalidKudosCode.ONLY_MENTIONS, "only see names"),
        ("<@U1> for", InvalidKudosCode.NO_REASON, "What did they do?"),
        ("<@U1> for #ownership", InvalidKudosCode.NO_REASON, "What did they do?"),
        ("<@U1> for <@U2> ...", InvalidKudosCode.NO_REASON, "What did they do?"),
        ("<!here> for the launch", InvalidKudosCode.BROADCAST_MENTION, "@here"),
        ("<!channel|@channel> for the launch", InvalidKudosCode.BROADCAST_MENTION, "@channel"),
        ("<@U1> for telling <!everyone>", InvalidKudosCode.BROADCAST_MENTION, "@everyone"),
        ("<#C01|joint> for the launch", InvalidKudosCode.CHANNEL_RECIPIENT, "<#C01|joint>"),
        ("<@U1> <#C1> for the launch", InvalidKudosCode.CHANNEL_RECIPIENT, "is a channel"),
        (
            "<@U1> for the launch <#C9|customer-first>",
            InvalidKudosCode.CHANNEL_AS_VALUE,
            "value tags are written like #customer-first",
        ),
        (
            "<@U1> <#C9|ownership>",
            InvalidKudosCode.CHANNEL_AS_VALUE,
            "value tags are written like #ownership",
        ),
        ("<@U1> for it #bogus", InvalidKudosCode.UNKNOWN_VALUE, "#customer-first, #ownership"),
        ("<@U1> for it #a #b", InvalidKudosCode.UNKNOWN_VALUE, "values #a, #b"),
        ("<@U1> for it #ownershp", InvalidKudosCode.UNKNOWN_VALUE, "Did you mean #ownership?"),
        (
            f"<@U1> for {'b' * (MAX_REASON_LENGTH + 1)}",
            InvalidKudosCode.REASON_TOO_LONG,
            f"{MAX_REASON_LENGTH + 1} characters",
        ),
    ],
)
def test_refused_shapes(text: str, code: InvalidKudosCode, hint: str) -> None:
    result = error(text)
    assert result.code is code
    assert hint in result.message


def test_unknown_tag_when_no_values_are_configured() -> None:
    result = error("<@U1> for it #ownership", values=())
    assert result.code is InvalidKudosCode.UNKNOWN_VALUE
    assert "No values are set up" in result.message


def test_the_length_counts_the_text_as_posted() -> None:
    # "&" is posted as "&amp;": "x" and 100 of them are 501 characters.
    assert draft("<@U1> for x" + "&amp;" * 99).reason == "x" + "&amp;" * 99
    assert error("<@U1> for x" + "&amp;" * 100).code is InvalidKudosCode.REASON_TOO_LONG


# --- parsing: random text -------------------------------------------------------

_IDS = st.text(alphabet="UWSC0123456789", min_size=0, max_size=4)
_WORDS = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
_FRAGMENTS = st.one_of(
    _WORDS,
    st.sampled_from(
        ["for", "FOR", " for ", "to", "and", ",", " ", "\n", "<", ">", "|", "&amp;", "&lt;"]
    ),
    st.sampled_from(["&gt;", "#", ":tada:", "@here", "<!here>", "<!channel>", "#1", "C#"]),
    st.builds(lambda i: f"<@{i}>", _IDS),
    st.builds(lambda i, n: f"<@{i}|{n}>", _IDS, _WORDS),
    st.builds(lambda i: f"<!subteam^{i}>", _IDS),
    st.builds(lambda i, n: f"<!subteam^{i}|@{n}>", _IDS, _WORDS),
    st.builds(lambda i, n: f"<#{i}|{n}>", _IDS, _WORDS),
    st.builds(lambda u, n: f"<http{u}|{n}>", _WORDS, _WORDS),
    st.builds(lambda t: f"#{t}", st.sampled_from([*VALUES, "CUSTOMER-FIRST", "nope", "x_1"])),
    st.builds(lambda t: f"#{t}", _WORDS),
)
_LIMIT = 60


# Often open with a real mention, so many examples get as far as a draft.
_OPENINGS = st.sampled_from(["", "<@U1> ", "<@U2|bo> and ", "<!subteam^S1|@it> for "])


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        lambda head, rest: head + " ".join(rest), _OPENINGS, st.lists(_FRAGMENTS, max_size=14)
    )
)
def test_random_text_gives_a_draft_or_an_error(text: str) -> None:
    result = parse_kudos(text, VALUES, max_reason_length=_LIMIT)
    if isinstance(result, InvalidKudos):
        assert result.message.strip()
        return
    assert result.user_ids or result.usergroup_ids
    assert all(result.user_ids) and all(result.usergroup_ids)
    assert len(set(result.user_ids)) == len(result.user_ids)
    assert result.reason.strip() == result.reason != ""
    assert len(result.reason) <= _LIMIT
    assert set(result.values) <= set(VALUES)
    assert "<!" not in result.reason.replace("<!subteam^", "")


# --- who may receive them -------------------------------------------------------

ANA = Recipient("UANA", team_id="TMKT")
RAJ = Recipient("URAJ", team_id="TIT")


def test_fine_recipients_are_not_refused() -> None:
    assert check_recipients("UGIVER", [ANA, RAJ]) == []
    assert receivers("UGIVER", [ANA, RAJ, ANA]) == ("UANA", "URAJ")


def test_every_refusal_is_listed_and_the_whole_command_is_refused() -> None:
    refusals = check_recipients(
        "UGIVER",
        [
            ANA,
            Recipient("UGIVER", team_id="TMKT"),
            Recipient("UBOT", is_bot=True, team_id="TIT"),
            Recipient("UGONE", is_deleted=True, team_id="TIT"),
            Recipient("UFAR", team_id=None),
        ],
    )
    assert [(r.reason, r.user_id) for r in refusals] == [
        (Ineligibility.SELF, "UGIVER"),
        (Ineligibility.BOT, "UBOT"),
        (Ineligibility.DEACTIVATED, "UGONE"),
        (Ineligibility.OUTSIDE_PARTNERSHIP, "UFAR"),
    ]
    message = refusal_message(refusals)
    assert message.startswith("I didn't post these kudos:")
    assert "<@UBOT>" in message and "<@UGONE>" in message and "<@UFAR>" in message


def test_self_kudos_is_refused_kindly() -> None:
    (refusal,) = check_recipients("UANA", [ANA])
    assert refusal.reason is Ineligibility.SELF
    assert "yourself" in refusal_message([refusal])


def test_a_group_member_who_cannot_receive_is_left_out_quietly() -> None:
    group = [
        Recipient("UGIVER", team_id="TMKT", via_usergroup=True),
        Recipient("UBOT", is_bot=True, team_id="TIT", via_usergroup=True),
        Recipient("URAJ", team_id="TIT", via_usergroup=True),
    ]
    assert check_recipients("UGIVER", group) == []
    assert receivers("UGIVER", group) == ("URAJ",)


def test_naming_someone_directly_wins_over_their_group() -> None:
    recipients = [Recipient("UGIVER", team_id="TMKT", via_usergroup=True), ANA]
    recipients.append(Recipient("UGIVER", team_id="TMKT"))
    assert [r.reason for r in check_recipients("UGIVER", recipients)] == [Ineligibility.SELF]


def test_a_group_with_nobody_left_is_refused() -> None:
    group = [Recipient("UGIVER", team_id="TMKT", via_usergroup=True)]
    assert [r.reason for r in check_recipients("UGIVER", group)] == [Ineligibility.NOBODY_LEFT]
    assert [r.reason for r in check_recipients("UGIVER", [])] == [Ineligibility.NOBODY_LEFT]


def test_cross_team() -> None:
    assert is_cross_team("TMKT", "TIT")
    assert not is_cross_team("TMKT", "TMKT")
    assert not is_cross_team(None, "TIT")
    assert not is_cross_team("TMKT", None)


# --- the daily allowance ----------------------------------------------------------


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def test_local_day_in_new_york_spring_forward_is_23_hours() -> None:
    start, end = local_day_bounds(NEW_YORK, utc(2026, 3, 8, 12))
    assert (start, end) == (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4))
    assert end - start == timedelta(hours=23)


def test_local_day_in_new_york_fall_back_is_25_hours() -> None:
    start, end = local_day_bounds(NEW_YORK, utc(2026, 11, 1, 12))
    assert (start, end) == (utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))
    assert end - start == timedelta(hours=25)


def test_local_day_when_midnight_is_skipped() -> None:
    # Santiago moves its clocks from 24:00 to 01:00: that day starts at 01:00.
    start, end = local_day_bounds("America/Santiago", utc(2026, 9, 6, 12))
    assert start.astimezone(ZoneInfo("America/Santiago")).hour == 1
    assert end - start == timedelta(hours=23)


def test_an_unknown_zone_falls_back_to_the_default() -> None:
    now = utc(2026, 6, 1, 12)
    expected = local_day_bounds("Europe/Paris", now)
    for name in ("Mars/Olympus", "", "../etc/passwd", "localtime"):
        assert local_day_bounds(name, now, default_tz="Europe/Paris") == expected
    assert local_day_bounds("nope", now, default_tz="nope") == (utc(2026, 6, 1), utc(2026, 6, 2))


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        local_day_bounds("UTC", datetime(2026, 6, 1, 12))


_ZONES = st.sampled_from(
    [NEW_YORK, "America/Santiago", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Apia", "UTC"]
)


@settings(max_examples=200, deadline=None)
@given(_ZONES, st.datetimes(datetime(1990, 1, 1), datetime(2037, 1, 1), timezones=st.just(UTC)))
def test_the_local_day_contains_now_and_starts_a_new_date(zone: str, now: datetime) -> None:
    start, end = local_day_bounds(zone, now)
    local = ZoneInfo(zone)
    assert start <= now < end
    assert timedelta(hours=22) <= end - start <= timedelta(hours=26)
    assert (start - timedelta(seconds=1)).astimezone(local).date() < start.astimezone(local).date()


def test_the_limit_message_names_the_local_reset() -> None:
    # 20:48 in New York on the 23-hour day; midnight is 3 h 12 min away.
    now = utc(2026, 3, 9, 0, 48)
    allowance = allowance_status(5, 5, NEW_YORK, now, cross_team=False, cross_team_exempt=True)
    assert allowance.remaining == 0
    assert not allowance.allows()
    assert allowance.resets_at == utc(2026, 3, 9, 4)
    assert allowance.refusal_message() == (
        "You've given 5 kudos today, your daily limit. It resets at midnight (in 3 h 12 min)."
    )


def test_the_reset_on_the_25_hour_day() -> None:
    now = utc(2026, 11, 1, 4, 30)  # 00:30 EDT, before the clocks go back
    allowance = allowance_status(1, 5, NEW_YORK, now, cross_team=False, cross_team_exempt=False)
    assert allowance.remaining == 4
    assert allowance.allows(4) and not allowance.allows(5)
    assert allowance.resets_at == utc(2026, 11, 2, 5)
    assert allowance.resets_in == timedelta(hours=24, minutes=30)
    assert "4 left today" in allowance.refusal_message(5)


def test_cross_team_kudos_pass_the_limit_only_when_exempt() -> None:
    now = utc(2026, 6, 1, 12)
    exempt = allowance_status(9, 5, NEW_YORK, now, cross_team=True, cross_team_exempt=True)
    assert exempt.exempt and exempt.allows(3)
    not_exempt = allowance_status(9, 5, NEW_YORK, now, cross_team=True, cross_team_exempt=False)
    assert not not_exempt.allows()
    same_team = allowance_status(9, 5, NEW_YORK, now, cross_team=False, cross_team_exempt=True)
    assert not same_team.allows()


def test_the_reset_time_reads_well_close_to_midnight() -> None:
    late = allowance_status(5, 5, "UTC", utc(2026, 6, 1, 23, 59, 30), False, False)
    assert "(in less than a minute)" in late.refusal_message()
    hour = allowance_status(5, 5, "UTC", utc(2026, 6, 1, 22), False, False)
    assert "(in 2 h)" in hour.refusal_message()
    minutes = allowance_status(5, 5, "UTC", utc(2026, 6, 1, 23, 15), False, False)
    assert "(in 45 min)" in minutes.refusal_message()


# --- the weekly nudge ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("gave", "opted_out", "away", "expected"),
    [
        (False, False, False, True),
        (True, False, False, False),
        (False, True, False, False),
        (False, False, True, False),
    ],
)
def test_should_nudge(gave: bool, opted_out: bool, away: bool, expected: bool) -> None:
    assert should_nudge(gave, opted_out, away) is expected


def test_suggestions_rank_the_strongest_tie_then_the_most_recent() -> None:
    monday, tuesday, friday = utc(2026, 6, 1), utc(2026, 6, 2), utc(2026, 6, 5)
    candidates = [
        Suggestion("UMENTIONED", WorkTie.MENTIONED, friday),
        Suggestion("UASKED_OLD", WorkTie.ANSWERED_ASK, monday),
        Suggestion("UASKED_NEW", WorkTie.ANSWERED_ASK, tuesday),
        Suggestion("UPARTNER", WorkTie.SHADOWING_PARTNER, monday),
        Suggestion("UASKED_OLD", WorkTie.MENTIONED, friday),
    ]
    assert suggest_people(candidates) == [
        "UPARTNER",
        "UASKED_NEW",
        "UASKED_OLD",
        "UMENTIONED",
    ]
    assert suggest_people(candidates, limit=2) == ["UPARTNER", "UASKED_NEW"]
    assert suggest_people(candidates, limit=0) == []
    assert suggest_people([]) == []
