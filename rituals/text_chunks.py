"""Long mrkdwn cut to Slack's block limits without breaking its markup.

Slack rejects a whole message (`invalid_blocks`) when one section's text is
over 3,000 characters or the message has more than 50 blocks, so long
standup answers are cut before they are posted, and many of them are spread
over several messages.

Cuts fall, in order of preference, at a blank line, a line break, a space,
then between two characters. They never fall inside a Slack token
(`<@U1|ana>`, `<!subteam^S1|@mkt>`, `<https://…|label>`), an entity
(`&amp;`), an emoji shortcode (`:tada:`) or a user-perceived character
(emoji with skin tones or ZWJ sequences, flags, letters with combining
marks). Only a token or character longer than the limit itself is cut inside,
since a chunk over the limit would lose the whole message.

Lengths are `len()` of a `str`, i.e. Unicode code points: the closest cheap
stand-in for Slack's "characters". Should Slack count UTF-16 units instead,
an emoji outside the Basic Multilingual Plane counts twice there; pass a
smaller limit to keep a margin.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence

SECTION_TEXT_LIMIT = 3000
MAX_BLOCKS_PER_MESSAGE = 50

# Same shape as rituals.slack_text's tokens, plus entities and emoji shortcodes
# (`:thumbsup::skin-tone-3:` is one emoji).
_ATOMIC = re.compile(r"<[^>]*>|&(?:amp|lt|gt);|:[a-z0-9_+'-]+:(?::skin-tone-[2-6]:)?")

# Space runs worth cutting at, best first: a blank line, a line break, any space.
# Each pattern reads the same backwards, as it is searched in the reversed text.
_BREAKS = (re.compile(r"\n[^\S\n]*\n"), re.compile(r"\n"), re.compile(r"\s"))
_ZWJ = "\u200d"


def split_text(text: str, limit: int = SECTION_TEXT_LIMIT) -> list[str]:
    """Chunks of at most `limit` characters, none empty, none starting or ending in whitespace.

    Joining the chunks with the whitespace that separated them gives back
    `text` without its leading and trailing whitespace.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    end = len(text.rstrip())
    start = _skip_space(text, 0)
    if start >= end:
        return []
    if end - start <= limit:
        return [text[start:end]]
    cutter = _Cutter(text)
    chunks: list[str] = []
    while end - start > limit:
        cut = cutter.best_cut(start, start + limit)
        chunks.append(text[start:cut].rstrip())
        start = _skip_space(text, cut)
    chunks.append(text[start:end])
    return chunks


def pack_sections(
    sections: Sequence[str],
    max_blocks: int = MAX_BLOCKS_PER_MESSAGE,
    reserved: int = 2,
    text_limit: int = SECTION_TEXT_LIMIT,
) -> list[list[str]]:
    """Sections grouped into messages, keeping `reserved` blocks of each for a header or context.

    Blank sections are dropped (Slack rejects an empty section); a section
    over `text_limit` is an error, since it would make Slack reject the whole
    message: cut it with `split_text` first.
    """
    per_message = max_blocks - reserved
    if reserved < 0 or per_message < 1:
        raise ValueError(
            f"{max_blocks} blocks with {reserved} reserved leaves no room for a section"
        )
    kept: list[str] = []
    for index, section in enumerate(sections):
        if len(section) > text_limit:
            raise ValueError(
                f"section {index} has {len(section):,} characters, over the limit of "
                f"{text_limit:,}; cut it with split_text first"
            )
        if section.strip():
            kept.append(section)
    return [kept[i : i + per_message] for i in range(0, len(kept), per_message)]


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


class _Cutter:
    """Finds where the chunks of one text end, looking only at each chunk's window.

    The reversed text is searched forwards to find the last match before a
    position, so a long text costs about one pass however many chunks it makes.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._reversed = text[::-1]
        spans = [match.span() for match in _ATOMIC.finditer(text)]
        self._token_starts = [start for start, _ in spans]
        self._token_ends = [end for _, end in spans]

    def best_cut(self, start: int, stop: int) -> int:
        """Where the chunk starting at `start` ends: the best position in (start, stop].

        A space run is cut at its start (the chunk is right-stripped); the
        latest run of the best kind wins.
        """
        text = self._text
        # A run that starts in the window may end past it: search all of it.
        region_end = _skip_space(text, stop)
        for pattern in _BREAKS:
            hi = region_end
            while (found := self._last(pattern, start + 1, hi)) is not None:
                run_start = found
                while text[run_start - 1].isspace():
                    run_start -= 1
                token_start = self._token_start_around(run_start)
                if token_start is None and _is_grapheme_boundary(text, run_start, start):
                    return run_start
                hi = run_start if token_start is None else token_start
        between_characters = self._last_boundary(start, stop, keep_tokens=True)
        if between_characters is not None:
            return between_characters
        inside_token = self._last_boundary(start, stop, keep_tokens=False)
        return stop if inside_token is None else inside_token

    def _last(self, pattern: re.Pattern[str], lo: int, hi: int) -> int | None:
        """Where the last match of `pattern` inside text[lo:hi] starts."""
        size = len(self._text)
        match = pattern.search(self._reversed, size - hi, size - lo)
        return None if match is None else size - match.end()

    def _token_start_around(self, pos: int) -> int | None:
        """The start of the token that `pos` falls strictly inside, if any."""
        index = bisect_left(self._token_starts, pos) - 1
        if index >= 0 and self._token_ends[index] > pos:
            return self._token_starts[index]
        return None

    def _last_boundary(self, start: int, stop: int, keep_tokens: bool) -> int | None:
        """The last position in (start, stop] between two user-perceived characters."""
        pos = stop
        while pos > start:
            token_start = self._token_start_around(pos) if keep_tokens else None
            if token_start is not None:
                pos = token_start
            elif _is_grapheme_boundary(self._text, pos, start):
                return pos
            else:
                pos -= 1
        return None


def _is_grapheme_boundary(text: str, pos: int, floor: int) -> bool:
    """Whether text may be cut before `pos`: UAX #29 cut down to marks, emoji and flags.

    `floor` is a known boundary before `pos` (the chunk's start), so flags
    are paired from there rather than from the start of a long run of them.
    Hangul jamo and Indic conjuncts are not handled; both are rare in the
    typed-in (precomposed) text Slack receives.
    """
    before, here = text[pos - 1], text[pos]
    if before == "\r" and here == "\n":
        return False
    if before == _ZWJ or _extends_previous(here):
        return False
    if not (_is_regional_indicator(before) and _is_regional_indicator(here)):
        return True
    # A flag is a pair of regional indicators: cut only between pairs.
    run = 0
    while pos - run > floor and _is_regional_indicator(text[pos - run - 1]):
        run += 1
    return run % 2 == 0


def _extends_previous(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in {"Mn", "Me", "Mc"}  # combining marks, keycap, selectors
        or code == 0x200D  # zero width joiner
        or 0x1F3FB <= code <= 0x1F3FF  # skin tone modifiers
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences (subdivision flags)
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF
