"""The kinds of interaction Tandem logs, and which way each one flows.

Direction is always provider -> beneficiary: whoever gave something to whom.
Help goes helper -> requester, kudos go receiver -> giver (the receiver gave
the thing being recognised), shadowing goes host -> shadower, and a standup
mention goes mentioned member -> author.
"""

from __future__ import annotations

from enum import StrEnum


class InteractionKind(StrEnum):
    SHADOWING = "shadowing"
    HELP_OFFERED = "help_offered"
    HELP_GIVEN = "help_given"
    KUDOS = "kudos"
    KUDOS_SECOND = "kudos_second"
    MENTION = "mention"
    # One person's participation, with no beneficiary; a BLOCKER row carries
    # the team it names (if any) as the beneficiary team.
    STANDUP_ANSWER = "standup_answer"
    BLOCKER = "blocker"
    # A check-in on a joint KPI, logged from the owner who checked in to each
    # co-owner: it counts toward ties and reach, never toward give/take.
    CO_DELIVERY = "co_delivery"


# Kinds with a provider and a beneficiary: these are the flows the balance counts.
FLOW_KINDS: frozenset[InteractionKind] = frozenset(
    {
        InteractionKind.SHADOWING,
        InteractionKind.HELP_OFFERED,
        InteractionKind.HELP_GIVEN,
        InteractionKind.KUDOS,
        InteractionKind.KUDOS_SECOND,
        InteractionKind.MENTION,
    }
)


class InterdependenceType(StrEnum):
    """Thompson's three kinds of interdependence, declared per partnership."""

    POOLED = "pooled"
    SEQUENTIAL = "sequential"
    RECIPROCAL = "reciprocal"


class RitualKind(StrEnum):
    SHADOWING = "shadowing"
    STANDUP = "standup"
    KUDOS_PROMPT = "kudos_prompt"
    DIGEST = "digest"
    KPI_CHECKIN = "kpi_checkin"
    PULSE = "pulse"
