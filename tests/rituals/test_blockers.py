"""The "no blocker" classifier: common ways to say nothing blocks you, in five languages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rituals.blockers import is_no_blocker

NOTHING = [
    # English
    "No blockers",
    "no blockers today, thanks!",
    "No blocker.",
    "Nothing today",
    "nothing blocking me right now",
    "All good",
    "all good here 👍",
    "Nope, all good",
    "None",
    "none so far",
    "I'm not blocked",
    "Not blocked at all",
    "n/a",
    "N/A",
    "-",
    "—",
    "–",
    "...",
    ":white_check_mark:",
    "✅",
    "nothing to report",
    "No issues :tada:",
    # French
    "Rien",
    "Rien à signaler",
    "RAS",
    "R.A.S.",
    "Aucun blocage",
    "Pas de blocage pour l'instant",
    "Rien aujourd’hui",
    "Tout va bien, merci",
    "Néant",
    # German
    "Keine Blocker",
    "keine Blocker heute",
    "Nichts",
    "Für heute nichts",
    "Alles gut!",
    "Nein",
    # Spanish
    "Ninguno",
    "Sin bloqueos por ahora",
    "Nada hoy",
    "Todo bien, gracias",
    "No hay bloqueos",
    # Portuguese
    "Nenhum",
    "Nenhum bloqueio hoje",
    "Sem bloqueios",
    "Não",
    "Tudo certo por aqui",
    # several clauses, each saying nothing
    "Nothing today. All good!",
    "none\n\nall good",
]

BLOCKERS = [
    "none of the APIs respond",
    "No access to the VPN",
    "nothing works since the upgrade",
    "No, waiting on <@U123> for the key",
    "Waiting on IT for the DNS change",
    "No blockers. Waiting for legal review though",
    "blocked by &lt;legal&gt;",
    "<https://example.slack.com/archives/C1/p1|this thread>",
    "no deploys possible until Friday",
    "Nada funciona",
    "Rien ne marche",
    "Keine Rechte auf dem Server",
    "Sem acesso ao repositório",
    "Pas de réponse de l'équipe IT",
    "thanks",
    "today",
    "IT",
]


@pytest.mark.parametrize("answer", NOTHING)
def test_common_ways_to_say_nothing_blocks_me(answer: str) -> None:
    assert is_no_blocker(answer)


@pytest.mark.parametrize("answer", BLOCKERS)
def test_anything_else_is_a_blocker(answer: str) -> None:
    assert not is_no_blocker(answer)


def test_an_empty_answer_is_not_a_no_blocker_answer() -> None:
    """Empty means unanswered: the caller drops it before asking."""
    assert not is_no_blocker("")
    assert not is_no_blocker("   \n")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NOTHING), st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=4))
def test_a_nothing_answer_with_a_real_clause_added_is_a_blocker(nothing: str, word: str) -> None:
    """Conservative: a clause it does not know makes the whole answer a blocker."""
    if is_no_blocker(word):
        return
    assert not is_no_blocker(f"{nothing}. {word} is down")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_is_classified_without_error(text: str) -> None:
    assert is_no_blocker(text) in (True, False)
