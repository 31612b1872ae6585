from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rituals.text_chunks import (
    MAX_BLOCKS_PER_MESSAGE,
    SECTION_TEXT_LIMIT,
    pack_sections,
    split_text,
)

FAMILY = "👩\u200d👩\u200d👧\u200d👦"
FLAG = "🇫🇷"
THUMBS_UP_MEDIUM = "👍🏽"
KEYCAP_ONE = "1\ufe0f\u20e3"
E_ACUTE = "e\u0301"
CLUSTERS = [FAMILY, FLAG, THUMBS_UP_MEDIUM, KEYCAP_ONE, E_ACUTE, "🎉", "❤\ufe0f"]
TOKENS = [
    "<@U0123ABCD>",
    "<@U0123ABCD|ana lima>",
    "<!subteam^S0123|@marketing>",
    "<#C0123|joint-standup>",
    "<https://example.com/a/b?c=d|the launch brief>",
    "<https://example.com/very/long/path>",
    "<!here>",
    "&amp;",
    "&lt;",
    ":tada:",
    ":thumbsup::skin-tone-3:",
]


def spans_in(text: str, chunks: list[str]) -> list[tuple[int, int]]:
    """Where each chunk sits in text; fails unless only whitespace lies between them."""
    spans = []
    pos = 0
    for chunk in chunks:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        assert text.startswith(chunk, pos), (chunk, text[pos : pos + 40])
        spans.append((pos, pos + len(chunk)))
        pos += len(chunk)
    assert not text[pos:].strip()
    return spans


def assert_well_formed(text: str, chunks: list[str], limit: int) -> list[tuple[int, int]]:
    for chunk in chunks:
        assert 0 < len(chunk) <= limit
        assert chunk == chunk.strip()
    return spans_in(text, chunks)


def assert_kept_whole(spans: list[tuple[int, int]], start: int, end: int) -> None:
    for chunk_start, chunk_end in spans:
        assert not start < chunk_start < end, (start, end, spans)
        assert not start < chunk_end < end, (start, end, spans)


def test_short_text_is_one_trimmed_chunk() -> None:
    assert split_text("  hello\nworld \n") == ["hello\nworld"]


def test_blank_text_gives_no_chunks() -> None:
    assert split_text("") == []
    assert split_text(" \n\t\n ") == []


def test_text_exactly_at_the_limit_is_not_cut() -> None:
    assert split_text("a" * 3000) == ["a" * 3000]
    assert split_text("a" * 3001) == ["a" * 3000, "a"]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        split_text("abc", 0)


def test_cuts_at_a_blank_line_before_a_line_break() -> None:
    text = "aaaa bbbb\n\ncccc\ndddd eeee"
    assert split_text(text, 20) == ["aaaa bbbb", "cccc\ndddd eeee"]


def test_cuts_at_a_line_break_before_a_space() -> None:
    assert split_text("aaaa\nbbbb cccc", 12) == ["aaaa", "bbbb cccc"]


def test_a_break_that_runs_past_the_window_counts_whole() -> None:
    # The window ends at the first space of "\n  \n": it is still a blank line.
    assert split_text("aa\n\nbb cc\n  \ndd", 10) == ["aa\n\nbb cc", "dd"]


def test_cuts_at_the_last_space_that_fits() -> None:
    assert split_text("one two three four five", 13) == ["one two three", "four five"]


def test_a_word_longer_than_the_limit_is_cut_between_characters() -> None:
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_a_ten_thousand_character_answer() -> None:
    rng = random.Random(7)
    paragraphs: list[str] = []
    while sum(len(p) for p in paragraphs) < 10_000:
        lines = [
            " ".join("w" * rng.randint(1, 12) for _ in range(rng.randint(3, 30)))
            for _ in range(rng.randint(1, 6))
        ]
        paragraphs.append("\n".join(lines))
    text = "\n\n".join(paragraphs)[:10_000].rstrip()
    assert len(text) >= 9_990

    chunks = split_text(text)

    assert len(chunks) == 4
    assert_well_formed(text, chunks, SECTION_TEXT_LIMIT)
    assert re.sub(r"\s+", "", "".join(chunks)) == re.sub(r"\s+", "", text)
    for chunk in chunks[:-1]:
        assert len(chunk) > 2_000  # greedy: chunks are filled, not cut at every paragraph


def test_a_ten_thousand_character_word_is_cut_to_the_limit() -> None:
    chunks = split_text("é" * 10_000)
    assert [len(chunk) for chunk in chunks] == [3000, 3000, 3000, 1000]


def test_a_mention_is_never_cut() -> None:
    text = "waiting on <@U0123ABCD|ana lima> for the copy"
    chunks = split_text(text, 24)
    assert chunks == ["waiting on", "<@U0123ABCD|ana lima>", "for the copy"]


def test_a_link_is_kept_whole_even_inside_a_long_word() -> None:
    link = "<https://example.com/brief|launch brief>"
    text = "x" * 30 + link + "y" * 30
    chunks = split_text(text, 45)
    assert any(link in chunk for chunk in chunks)
    assert all(len(chunk) <= 45 for chunk in chunks)


def test_a_token_longer_than_the_limit_is_cut_as_a_last_resort() -> None:
    link = "<https://example.com/" + "p" * 100 + "|brief>"
    chunks = split_text(f"see {link} today", 50)
    assert all(0 < len(chunk) <= 50 for chunk in chunks)
    assert "".join(chunks).replace(" ", "") == f"see{link}today".replace(" ", "")
    assert chunks[0] == "see"  # the cut before the token is still preferred


def test_entities_and_shortcodes_are_never_cut() -> None:
    text = "a&amp;b:tada:c" * 20
    chunks = split_text(text, 7)
    for chunk in chunks:
        assert chunk.count("&amp;") == chunk.count("&")
        assert chunk.count(":tada:") * 2 == chunk.count(":")


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_user_perceived_characters_are_never_cut(cluster: str) -> None:
    text = cluster * 40
    limit = len(cluster) * 3 + 1
    chunks = split_text(text, limit)
    assert "".join(chunks) == text
    for chunk in chunks:
        assert chunk == cluster * (len(chunk) // len(cluster))


def test_consecutive_flags_pair_up_from_the_start_of_the_run() -> None:
    chunks = split_text("ab" + "🇫🇷🇩🇪🇯🇵", 4)
    assert chunks == ["ab🇫🇷", "🇩🇪🇯🇵"]


def test_a_cluster_longer_than_the_limit_is_cut_as_a_last_resort() -> None:
    chunks = split_text("e" + "\u0301" * 20, 8)
    assert [len(chunk) for chunk in chunks] == [8, 8, 5]


def test_crlf_is_not_split() -> None:
    chunks = split_text("abc\r\ndef", 4)
    assert chunks == ["abc", "def"]


def test_pack_sections_leaves_room_for_reserved_blocks() -> None:
    sections = [f"answer {i}" for i in range(120)]
    messages = pack_sections(sections, max_blocks=50, reserved=2)
    assert [len(m) for m in messages] == [48, 48, 24]
    assert [s for m in messages for s in m] == sections


def test_pack_sections_defaults_fit_slack() -> None:
    messages = pack_sections(["x"] * 100)
    assert all(len(m) <= MAX_BLOCKS_PER_MESSAGE - 2 for m in messages)


def test_pack_sections_drops_blank_sections() -> None:
    assert pack_sections(["a", "", "  \n", "b"], max_blocks=3, reserved=1) == [["a", "b"]]


def test_pack_sections_of_nothing_is_no_message() -> None:
    assert pack_sections([]) == []


def test_pack_sections_needs_room_for_one_section() -> None:
    with pytest.raises(ValueError, match="no room"):
        pack_sections(["a"], max_blocks=2, reserved=2)
    with pytest.raises(ValueError, match="no room"):
        pack_sections(["a"], max_blocks=50, reserved=-1)


def test_pack_sections_rejects_a_section_over_the_text_limit() -> None:
    with pytest.raises(ValueError, match="section 1 has 3,001 characters"):
        pack_sections(["ok", "x" * 3001])


def test_split_then_pack_a_long_thread() -> None:
    answers = [("word " * 700).strip() for _ in range(30)]  # 3,499 characters each
    sections = [chunk for answer in answers for chunk in split_text(answer)]
    messages = pack_sections(sections)
    assert len(sections) == 60
    assert [len(m) for m in messages] == [48, 12]


# --- Properties ---------------------------------------------------------------

WORD_ALPHABET = st.characters(
    codec="utf-8",
    exclude_characters="<>&:\u200d",
    exclude_categories=("Cs", "Mn", "Me", "Mc", "Zs", "Zl", "Zp", "Cc", "Cf", "Sk"),
)


@st.composite
def slack_texts(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    """Text built from pieces, with the spans of the pieces that must stay whole."""
    piece = st.one_of(
        st.tuples(st.just("word"), st.text(WORD_ALPHABET, min_size=1, max_size=12)),
        st.tuples(st.just("word"), st.text(WORD_ALPHABET, min_size=50, max_size=300)),
        st.tuples(st.just("atom"), st.sampled_from(TOKENS + CLUSTERS)),
        st.tuples(st.just("atoms"), st.sampled_from(CLUSTERS)),  # a long run with no space
        st.tuples(st.just("space"), st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " \n \n "])),
    )
    text = ""
    atoms = []
    for kind, value in draw(st.lists(piece, max_size=120)):
        repeat = draw(st.integers(20, 150)) if kind == "atoms" else 1
        for _ in range(repeat):
            if kind.startswith("atom"):
                atoms.append((len(text), len(text) + len(value)))
            text += value
    return text, atoms


@settings(max_examples=200, deadline=None)
@given(slack_texts(), st.integers(min_value=48, max_value=400))
def test_chunks_fit_keep_tokens_whole_and_lose_nothing(
    sample: tuple[str, list[tuple[int, int]]], limit: int
) -> None:
    text, atoms = sample
    chunks = split_text(text, limit)
    spans = assert_well_formed(text, chunks, limit)
    for start, end in atoms:
        assert_kept_whole(spans, start, end)
    assert bool(chunks) == bool(text.strip())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=600), st.integers(min_value=1, max_value=80))
def test_any_text_gives_chunks_within_the_limit(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert_well_formed(text, chunks, limit)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=200), st.integers(2, 50), st.integers(0, 10))
def test_packing_keeps_order_and_respects_the_block_budget(
    sections: list[str], max_blocks: int, reserved: int
) -> None:
    if max_blocks - reserved < 1:
        return
    messages = pack_sections(sections, max_blocks=max_blocks, reserved=reserved)
    assert all(0 < len(m) <= max_blocks - reserved for m in messages)
    assert [s for m in messages for s in m] == [s for s in sections if s.strip()]
