"""The one refusal type: a message to show, and where on a form it belongs."""

from __future__ import annotations

import pytest

from rituals.refusal import Refusal


def test_a_refusal_is_its_message_whether_returned_or_raised() -> None:
    refusal = Refusal("Not today.", hint="Try tomorrow.", field="reason", names={"U1": "Ana"})
    assert (str(refusal), refusal.message, refusal.hint) == (
        "Not today.",
        "Not today.",
        "Try tomorrow.",
    )
    assert (refusal.field, refusal.names, refusal.errors) == ("reason", {"U1": "Ana"}, {})
    with pytest.raises(Refusal, match="Not today"):
        raise refusal


def test_inline_errors_keep_their_blocks_and_lead_with_the_first() -> None:
    refusal = Refusal.inline({"today": "Too long.", "done": "Empty."})
    assert refusal.message == "Too long."
    assert refusal.errors == {"today": "Too long.", "done": "Empty."}
    with pytest.raises(ValueError):
        Refusal.inline({})
