"""Does a standup's blocker answer say "no blocker"? A small, conservative classifier.

Members answer "Anything blocking you?" with "No blockers", "nothing today",
"all good", "—", "n/a" or "RAS" as often as with a real blocker. Counting
those as blockers inflates the summary's blocker count, its headline and the
leaders' blocker dependence, so they are recognised here.

The rule: the whole answer, split into clauses at punctuation and line
breaks, must consist only of "nothing" clauses. A clause is one of the
common ways to say so (English, French, German, Spanish, Portuguese; see
`_PHRASES`), optionally with filler such as "today", "for now", "thanks"
around it, after lower-casing, removing accents, emoji and punctuation.
Anything else is a blocker: "none of the APIs respond", "no access to the
VPN" and "nothing works" all stay blockers, because a real blocker wrongly
dropped is worse than a "nothing" wrongly kept. An answer made only of
dashes, dots, slashes or emoji ("—", "...", ":+1:") says nothing, so it is
not a blocker either.

Members can also say it outright: the standup modal has a "No blockers"
checkbox, and a checked box wins over whatever the text field holds.
"""

from __future__ import annotations

import re
import unicodedata

# Whole clauses meaning "nothing blocks me", after `_normalise`.
_PHRASES: frozenset[str] = frozenset(
    {
        # English
        "no",
        "nope",
        "nah",
        "none",
        "nothing",
        "nil",
        "null",
        "zero",
        "0",
        "na",
        "n a",
        "no blocker",
        "no blockers",
        "no blocks",
        "no blockage",
        "no blockages",
        "no blocking issues",
        "no impediment",
        "no impediments",
        "no issue",
        "no issues",
        "no problem",
        "no problems",
        "no worries",
        "not blocked",
        "not blocked at all",
        "im not blocked",
        "i am not blocked",
        "nothing blocking",
        "nothing blocking me",
        "nothing is blocking me",
        "nothing blocks me",
        "nothing to report",
        "nothing new",
        "nothing major",
        "nothing much",
        "not really",
        "not at the moment",
        "all good",
        "all clear",
        "all fine",
        "all ok",
        "all okay",
        "all set",
        "good",
        "fine",
        "ok",
        "okay",
        "none so far",
        # French
        "non",
        "aucun",
        "aucune",
        "rien",
        "neant",
        "ras",
        "r a s",
        "rien a signaler",
        "rien de bloquant",
        "rien ne me bloque",
        "aucun blocage",
        "aucun bloquant",
        "aucun probleme",
        "aucun souci",
        "pas de blocage",
        "pas de blocages",
        "pas de bloquant",
        "pas de bloquants",
        "pas de blocker",
        "pas de blockers",
        "pas de souci",
        "pas de soucis",
        "pas de probleme",
        "pas de problemes",
        "pas bloque",
        "pas bloquee",
        "je ne suis pas bloque",
        "je ne suis pas bloquee",
        "tout va bien",
        "tout est ok",
        "tout roule",
        # German
        "nein",
        "nix",
        "nichts",
        "keine",
        "keiner",
        "kein blocker",
        "keine blocker",
        "keine blockaden",
        "keine blockierungen",
        "keine hindernisse",
        "keine probleme",
        "kein problem",
        "nichts blockiert",
        "nichts blockiert mich",
        "nicht blockiert",
        "ich bin nicht blockiert",
        "alles gut",
        "alles ok",
        "alles okay",
        "alles klar",
        "alles in ordnung",
        # Spanish
        "ninguno",
        "ninguna",
        "nada",
        "ningun bloqueo",
        "ningun bloqueador",
        "ningun impedimento",
        "ningun problema",
        "sin bloqueos",
        "sin bloqueo",
        "sin bloqueadores",
        "sin impedimentos",
        "sin problemas",
        "no hay bloqueos",
        "no hay bloqueadores",
        "no tengo bloqueos",
        "no estoy bloqueado",
        "no estoy bloqueada",
        "nada que reportar",
        "nada me bloquea",
        "todo bien",
        "todo ok",
        "todo en orden",
        # Portuguese
        "nao",
        "nenhum",
        "nenhuma",
        "nenhum bloqueio",
        "nenhum impedimento",
        "nenhum problema",
        "sem bloqueios",
        "sem bloqueio",
        "sem impedimentos",
        "sem problemas",
        "nao ha bloqueios",
        "nao tenho bloqueios",
        "nao estou bloqueado",
        "nao estou bloqueada",
        "nada a reportar",
        "nada me bloqueia",
        "tudo bem",
        "tudo certo",
        "tudo ok",
    }
)

# Words around a "nothing" clause that do not change its meaning.
_FILLERS: tuple[str, ...] = (
    # English
    "today",
    "for today",
    "for now",
    "right now",
    "at the moment",
    "atm",
    "so far",
    "currently",
    "yet",
    "here",
    "on my side",
    "on my end",
    "for me",
    "thanks",
    "thank you",
    "thx",
    "really",
    "at all",
    "as of now",
    "i have",
    "i ve got",
    "ive got",
    "there are",
    "we have",
    # French
    "aujourdhui",
    "pour aujourdhui",
    "pour linstant",
    "pour le moment",
    "en ce moment",
    "actuellement",
    "pour moi",
    "de mon cote",
    "merci",
    # German
    "heute",
    "fur heute",
    "im moment",
    "aktuell",
    "gerade",
    "bisher",
    "bei mir",
    "danke",
    # Spanish
    "hoy",
    "por hoy",
    "por ahora",
    "de momento",
    "por el momento",
    "por mi parte",
    "gracias",
    # Portuguese
    "hoje",
    "por hoje",
    "por enquanto",
    "por agora",
    "no momento",
    "por aqui",
    "obrigado",
    "obrigada",
)
_FILLER = "|".join(re.escape(f) for f in sorted(_FILLERS, key=len, reverse=True))
_AROUND = re.compile(rf"^(?:(?:{_FILLER})\s+)*(?P<core>.*?)(?:\s+(?:{_FILLER}))*$")

_SHORTCODE = re.compile(r":[a-z0-9_+'-]+:")
_CLAUSES = re.compile(r"[.,;:!?\n()\[\]]+|\s[-–—]+\s")
_APOSTROPHES = re.compile(r"['’`´]")
_INITIALS = re.compile(r"\b(?:\w\.){2,}\w?")  # "R.A.S.", "n.a.": one word, not clauses
_NOT_WORD = re.compile(r"[^\w]+")


def _normalise(text: str) -> str:
    """Lower-case, accents and apostrophes gone, anything but letters and digits a space."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = _APOSTROPHES.sub("", plain)
    return " ".join(_NOT_WORD.sub(" ", plain).replace("_", " ").split())


def _clause_kind(clause: str) -> str:
    """ "nothing", "filler" (only words such as "thanks") or "other"."""
    words = _normalise(clause)
    if words in _PHRASES:
        return "nothing"
    if not words or words in _FILLERS:
        return "filler"
    match = _AROUND.match(words)
    if match is None:
        return "other"
    core = match.group("core")
    if core in _PHRASES:
        return "nothing"
    return "filler" if not core or core in _FILLERS else "other"


def _unescape(text: str) -> str:
    """Answers are stored as Slack's escaped text; only these three entities exist."""
    return text.replace("&lt;", "‹").replace("&gt;", "›").replace("&amp;", "&")


def is_no_blocker(answer: str) -> bool:
    """Whether a blocker answer says there is no blocker (see the module's docstring)."""
    text = _SHORTCODE.sub(" ", answer.strip().lower())
    if not text.strip():
        return bool(answer.strip())  # only emoji shortcodes, such as ":+1:"
    if "<" in text:  # a mention, a channel or a link is something to report
        return False
    text = _INITIALS.sub(lambda m: m.group(0).replace(".", ""), _unescape(text))
    kinds = [_clause_kind(c) for c in _CLAUSES.split(text) if c.strip()]
    if "other" in kinds:
        return False
    # Only "nothing" and filler, or nothing but dashes, dots and symbols ("—", "...", "✅").
    return "nothing" in kinds or all(not _normalise(c) for c in _CLAUSES.split(text))
