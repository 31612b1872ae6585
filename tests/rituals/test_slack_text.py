"""The one module that writes Slack text: nothing a member sends becomes a ping or markup."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rituals.slack_text import (
    channel_mention,
    echo,
    emoji,
    escape,
    is_channel_id,
    is_user_id,
    is_usergroup_id,
    link,
    permalink,
    record_id,
    sanitize,
    strip_controls,
    truncate,
    user_mention,
    usergroup_mention,
)

BROADCASTS = ("<!channel>", "<!here>", "<!everyone>")
_TOKEN = re.compile(r"<[^<>]*>")


def live_tokens(text: str) -> list[str]:
    """What Slack would read as markup in this text: every <…> token."""
    return _TOKEN.findall(text)


def test_escape_makes_markup_literal_and_drops_control_characters() -> None:
    assert (
        escape("R&D <!channel> a\x00b\x07c\x1b[31m\x7f\x85") == "R&amp;D &lt;!channel&gt; abc[31m"
    )
    assert escape("line\r\nnext\rthird\ttab") == "line\nnext\nthird\ttab"
    assert strip_controls("\x00") == ""


@pytest.mark.parametrize(
    ("value", "user", "group", "channel"),
    [
        ("U012AB3CD", True, False, False),
        ("W012AB3CD", True, False, False),
        ("S0614TZR7", False, True, False),
        ("C012AB3CD", False, False, True),
        ("G012AB3CD", False, False, True),
        ("D012AB3CD", False, False, True),
        ("U1", False, False, False),
        ("u012ab3cd", False, False, False),
        ("UIT001> <!channel> <@UIT002", False, False, False),
        ("SIT> <!everyone", False, False, False),
        ("U" + "A" * 40, False, False, False),
        ("U012\n", False, False, False),
        (12345, False, False, False),
    ],
)
def test_id_shapes(value: object, user: bool, group: bool, channel: bool) -> None:
    assert (is_user_id(value), is_usergroup_id(value), is_channel_id(value)) == (
        user,
        group,
        channel,
    )


def test_mentions_of_the_right_shape_stay_live_and_forged_ones_become_text() -> None:
    assert user_mention("UIT001") == "<@UIT001>"
    assert usergroup_mention("SIT01") == "<!subteam^SIT01>"
    assert channel_mention("CJOINT") == "<#CJOINT>"
    forged = [
        user_mention("UIT001> <!channel> <@UIT002"),
        usergroup_mention("SIT> <!everyone"),
        channel_mention("C1> <!here"),
        emoji("x: <!here> :y"),
        link("!channel"),
        link("javascript:alert(1)", "doc"),
    ]
    for text in forged:
        assert live_tokens(text) == [], text
    assert user_mention("UIT001> <!channel> <@UIT002") == "@UIT001&gt; &lt;!channel&gt; &lt;@UIT002"


def test_emoji_names_and_skin_tones() -> None:
    assert emoji("thumbsup", 3) == ":thumbsup::skin-tone-3:"
    assert emoji("+1") == ":+1:"
    assert emoji("tada", "9") == ":tada:"
    assert emoji("tada", 2.0) == emoji("tada", True) == emoji("tada", "2>") == ":tada:"
    assert emoji("Tada") == escape(":Tada:")


def test_links_are_web_or_mail_addresses_only() -> None:
    assert link("https://x.test/?a=1&b=2", "doc") == "<https://x.test/?a=1&amp;b=2|doc>"
    assert link("mailto:ana@x.test") == "<mailto:ana@x.test>"
    assert link("https://x.test/a|<!here>") == "https://x.test/a|&lt;!here&gt;"
    assert link("https://x.test", "a|b <!here>") == "<https://x.test|a¦b &lt;!here&gt;>"


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("https://acme.slack.com/archives/C012AB3CD/p1700000000000100", True),
        (
            "https://acme.slack.com/archives/C012AB3CD/p1700000000000100"
            "?thread_ts=1700000000.000100&cid=C012AB3CD",
            True,
        ),
        ("https://acme.enterprise.slack.com/archives/G012AB3CD/p1700000000000100", True),
        ("https://acme.slack.com.evil.test/archives/C012AB3CD/p1700000000000100", False),
        ("https://evil.test/?https://acme.slack.com/archives/C012AB3CD/p1", False),
        ("http://acme.slack.com/archives/C012AB3CD/p1700000000000100", False),
        ("https://acme.slack.com/archives/C012AB3CD/p1700000000000100|<!channel>", False),
        ("https://acme.slack.com/archives/C012AB3CD/p1700000000000100>&<!here", False),
        ("https://acme.slack.com/archives/C012AB3CD/p1700000000000100\n", False),
        ("https://acme.slack.com/files/U1/F1/x.png", False),
        ("javascript:alert(1)", False),
        (None, False),
        (["https://acme.slack.com/archives/C012AB3CD/p1700000000000100"], False),
    ],
)
def test_only_slack_permalinks_are_kept(value: object, kept: bool) -> None:
    assert permalink(value) == (value if kept else None)


def test_sanitize_keeps_real_mentions_and_neutralises_broadcasts() -> None:
    text = (
        "hi <!channel> <!here|here> <!everyone> <@UIT001> <@U_bad> <!subteam^SIT01|@it> "
        "<#CJOINT|joint> <https://x.test|doc> <javascript:x|y> <!date^1^{date}|today> "
        "&amp; *bold* :tada:\x00"
    )
    assert sanitize(text) == (
        "hi @channel here @everyone <@UIT001> @U_bad <!subteam^SIT01|@it> "
        "<#CJOINT|joint> <https://x.test|doc> y today &amp; *bold* :tada:"
    )


def test_sanitize_leaves_well_formed_answers_unchanged() -> None:
    text = "pairing with <@UI1> on &lt;DNS&gt; &amp; certs\n• one\n```\ncode\n```"
    assert sanitize(text) == text


@given(st.text(alphabet=st.sampled_from(list("<>!@#^|&;:abcUS01 \x00\n")), max_size=60))
def test_sanitize_never_yields_a_broadcast(text: str) -> None:
    out = sanitize(text)
    assert not any(b in out for b in BROADCASTS)
    assert "\x00" not in out
    for token in live_tokens(out):
        assert re.fullmatch(
            r"<@[UW][A-Z0-9]{2,}>|<!subteam\^S[A-Z0-9]{2,}(\|[^<>]*)?>|<#[CGD][A-Z0-9]{2,}(\|[^<>]*)?>",
            token,
        ) or re.fullmatch(r"<@[UW][A-Z0-9]{2,}\|[^<>]*>", token), (text, token)


def test_truncate_and_echo_stay_within_the_limit_without_cutting_an_entity() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("a" * 20_000, 3000)
    assert len(cut) == 3000 and cut.endswith("…")
    assert truncate("abc &amp; def", 7) == "abc…"
    said = echo("x" * 20_000 + " <!channel>")
    assert len(said) <= 80 and "<!" not in said
    assert echo("<!channel>") == "@channel"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("1", 1),
        (12, 12),
        ("2147483647", 2**31 - 1),
        ("2147483648", None),
        ("99999999999999999999", None),
        ("²", None),
        ("١٢", None),
        ("0", None),
        ("-1", None),
        ("1.5", None),
        (" 12", None),
        ("", None),
        (True, None),
        (None, None),
    ],
)
def test_record_ids_are_ascii_digits_within_range(text: object, expected: int | None) -> None:
    assert record_id(text) == expected
