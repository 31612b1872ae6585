"""Names members or admins typed, and ids from a member's client, never become pings in a view."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.sync import SyncResult
from bot.views.admin import partnership_list, sync_report, team_list
from bot.views.common import notice
from bot.views.kudos import ModalContext, PostContent, kudos_leaderboard, kudos_modal, kudos_post
from bot.views.rich_text import input_to_mrkdwn, to_mrkdwn
from bot.views.standup import answer_message
from rituals.standup import AnswerSection
from storage.kudos import Leader, Leaderboard
from storage.org import PartnershipSummary, TeamSummary

HOSTILE = "Ops <!channel> <@UEVIL1> <!subteam^SALL> \x00"
PERMALINK = "https://acme.slack.com/archives/CJOINT/p1700000000000100"


def _live(message: dict[str, Any]) -> list[str]:
    """Every <…> token Slack would read as markup, in the text and the blocks."""
    return re.findall(r"<[^<>]*>", json.dumps(message, ensure_ascii=False))


def _no_broadcast(message: dict[str, Any], allowed: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    for token in _live(message):
        assert not token.startswith(("<!channel", "<!here", "<!everyone")), token
        if token.startswith(("<@", "<!subteam")):
            assert token in allowed, token
    assert "\\u0000" not in json.dumps(message)


def test_admin_lists_escape_team_and_partnership_names() -> None:
    teams = [TeamSummary(1, HOSTILE, "usergroup", "SMKT", 3, None)]
    _no_broadcast(team_list(teams), {"<!subteam^SMKT>"})
    partnerships = [
        PartnershipSummary(1, HOSTILE, "CJOINT", "reciprocal", (HOSTILE, "IT"), ("UANA",))
    ]
    _no_broadcast(partnership_list(partnerships), {"<@UANA>"})
    forged = [PartnershipSummary(1, "P", "C1> <!here", "pooled", ("A",), ("U1> <!channel",))]
    _no_broadcast(partnership_list(forged))
    _no_broadcast(sync_report([SyncResult(HOSTILE, 3, 1, 0, 0)]))


def test_the_leaderboard_fallback_escapes_display_names() -> None:
    board = Leaderboard((Leader("UANA", "<!channel> ana", 3),), kudos=3, cross_team=1)
    message = kudos_leaderboard(board, "May")
    _no_broadcast(message, {"<@UANA>"})
    assert "&lt;!channel&gt; ana" in message["text"]


def test_a_thread_reply_escapes_the_member_name_in_its_fallback() -> None:
    section = AnswerSection("<!here> Bea", "T1", False, ("*Bea* · IT\n\nwork",))
    message = answer_message(section, ask_id=None)
    _no_broadcast(message)
    assert message["text"].startswith("Standup from &lt;!here&gt; Bea")


def test_kudos_posts_and_forms_keep_only_slack_permalinks() -> None:
    def post(link: str | None) -> dict[str, Any]:
        content = PostContent(1, "UANA", ("UIVY",), "the launch", (), HOSTILE, link)
        return kudos_post(content)

    assert PERMALINK in json.dumps(post(PERMALINK))
    for forged in ("https://evil.test/x", "https://acme.slack.com/archives/C1/p1|<!here>"):
        message = post(forged)
        assert "evil" not in json.dumps(message) and "archives/C1/" not in json.dumps(message)
        _no_broadcast(message, {"<@UANA>", "<@UIVY>"})
    loaded = ModalContext.load(json.dumps({"p": 3, "c": "CJOINT", "l": "javascript:alert(1)"}))
    assert loaded == ModalContext(3, "CJOINT", None)
    kept = ModalContext.load(json.dumps({"p": 3, "c": "CJOINT", "l": PERMALINK}))
    assert kept is not None and kept.link == PERMALINK
    assert ModalContext.load(json.dumps({"p": "²", "c": "C1"})) is None
    assert ModalContext.load(json.dumps({"p": 99999999999999999999, "c": "C1"})) is None
    assert ModalContext.load(json.dumps({"p": 3, "c": ["C1"]})) is None
    form = kudos_modal(ModalContext(3, "C1", "https://evil.test"), channel_id="CJOINT", values=())
    assert "evil" not in json.dumps(form["blocks"])


def _section(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": elements}]}


def test_the_three_forged_rich_text_elements_become_text() -> None:
    cases = [
        (
            {"type": "user", "user_id": "UIT001> <!channel> <@UIT002"},
            "@UIT001&gt; &lt;!channel&gt;",
        ),
        ({"type": "emoji", "name": "x: <!here> :y"}, ":x: &lt;!here&gt; :y:"),
        ({"type": "usergroup", "usergroup_id": "SIT> <!everyone"}, "@SIT&gt; &lt;!everyone"),
    ]
    for element, shown in cases:
        text = to_mrkdwn(_section(element))
        assert re.findall(r"<[^<>]*>", text) == [], text
        assert text.startswith(shown), text
    assert to_mrkdwn(_section({"type": "user", "user_id": "UIT001"})) == "<@UIT001>"
    assert to_mrkdwn(_section({"type": "emoji", "name": "+1", "skin_tone": 2})) == (
        ":+1::skin-tone-2:"
    )
    assert to_mrkdwn(_section({"type": "link", "url": "!channel"})) == "!channel"
    assert to_mrkdwn(_section({"type": "text", "text": "a\x00b\x1bc"})) == "abc"
    listed = {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_list",
                "indent": "²",
                "offset": 10**30,
                "style": "ordered",
                "elements": [_section({"type": "text", "text": "x"})["elements"][0]],
            }
        ],
    }
    assert to_mrkdwn(listed) == "1. x"  # an indent or offset that is not a small number is 0
    assert input_to_mrkdwn({"type": "plain_text_input", "value": "<!here>\x00"}) == "&lt;!here&gt;"


def test_notices_stay_within_slack_limits() -> None:
    reply = notice("x" * 20_000, hint="y" * 20_000)
    assert len(reply["blocks"][0]["text"]["text"]) <= 3000
    assert len(reply["blocks"][1]["elements"][0]["text"]) <= 3000
