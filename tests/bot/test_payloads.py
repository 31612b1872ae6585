"""Strict readers of button values and private_metadata."""

from __future__ import annotations

import json

import pytest

from bot import payloads


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7),
        ("2147483647", 2**31 - 1),
        ("2147483648", None),  # beyond the database's integer
        ("9" * 25, None),
        ("²", None),
        ("٣", None),  # an Arabic-Indic digit: isdigit() says yes, we say no
        ("-1", None),
        ("0", None),
        (" 7", None),
        ("7 ", None),
        ("1e3", None),
        ("", None),
        (7, None),  # button values are strings
        (None, None),
    ],
)
def test_row_id(value: object, expected: int | None) -> None:
    assert payloads.row_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, 7), (True, None), ("7", None), (0, None), (2**31, None), (7.0, None)],
)
def test_metadata_id(value: object, expected: int | None) -> None:
    assert payloads.metadata_id(value) == expected


def test_row_ids() -> None:
    assert payloads.row_ids("3:4", 2) == (3, 4)
    for bad in ("3", "3:4:5", "3:", ":4", "3:²", "3:-4", 34):
        assert payloads.row_ids(bad, 2) is None


def test_metadata() -> None:
    assert payloads.metadata(json.dumps({"day": 3})) == {"day": 3}
    for bad in ("", "[]", "3", "not json", "[" * 5000 + "]" * 5000, "{" + " " * 4000 + "}", None):
        assert payloads.metadata(bad) is None


def test_ids_and_option_values() -> None:
    assert payloads.user_id("UABC123") == "UABC123"
    assert payloads.user_id("UIT001> <!channel> <@UIT002") is None
    assert payloads.channel_id("C0123") == "C0123" and payloads.channel_id("C1> <!here") is None
    assert payloads.option_values([{"value": "kudos_prompt"}, {"value": "customer-first"}]) == [
        "kudos_prompt",
        "customer-first",
    ]
    for bad in ([{"value": "a b"}], [{"value": "<!here>"}], ["standup"], [{"value": 7}], "x"):
        assert payloads.option_values(bad) is None
